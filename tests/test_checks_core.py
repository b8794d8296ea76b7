"""The self-check machinery: three states, grading behaviour, fallback, quiz keys."""

from __future__ import annotations

import pytest

from lessonlib.checks import (
    NotAttempted,
    Wrong,
    answer_key,
    attempt,
    check_choice,
    close,
    expect,
    expect_tensor,
    given,
    public_check,
)


def _reference(x):
    return 2 * x


@public_check("double", reference=_reference)
def check_double(fn):
    got = attempt(fn, 3)
    expect(got != 3, "you returned the input unchanged")
    expect(got == 6, f"double(3) should be 6, got {got}")


def _stub(x):
    """docstring only, as in a fresh release"""
    # YOUR CODE HERE
    ...


def test_three_states():
    assert check_double.run(_reference).status == "passed"
    assert check_double.run(_stub).status == "not attempted"
    wrong = check_double.run(lambda x: x)
    assert wrong.status == "wrong" and "unchanged" in wrong.message


def test_not_implemented_and_crashes():
    def raises(x):
        raise NotImplementedError

    assert check_double.run(raises).status == "not attempted"
    crash = check_double.run(lambda x: x / "a")
    assert crash.status == "wrong" and "TypeError" in crash.message


def test_call_prints_and_never_raises_outside_grading(capsys, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert check_double(lambda x: x) is None
    assert "WRONG" in capsys.readouterr().out


def _in_notebook(fn):
    """As if `fn` had been defined in a notebook cell (module __main__)."""
    fn.__module__ = "__main__"
    return fn


def test_call_raises_while_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(AssertionError, match="not attempted|NOT ATTEMPTED"):
        check_double(_in_notebook(lambda x: None))
    check_double(_in_notebook(lambda x: x + x))  # passes: no exception
    with pytest.raises(AssertionError, match="not your own"):
        check_double(_reference)  # the reference itself, imported into the notebook


def test_use_falls_back_to_reference_and_says_so(capsys):
    assert check_double.use(_stub) is _reference
    assert "reference `double`" in capsys.readouterr().out
    mine = lambda x: x + x  # noqa: E731
    assert check_double.use(mine) is mine
    assert "your `double`" in capsys.readouterr().out


def test_helpers():
    with pytest.raises(NotAttempted):
        given(None, "answer")
    assert given(3, "answer") == 3
    with pytest.raises(Wrong):
        expect(False, "no")
    assert close(1.0, 1.0 + 1e-7) and not close(1.0, 1.1)
    import torch

    assert close(torch.ones(2), torch.ones(2)) and not close(torch.ones(2), torch.ones(3))
    with pytest.raises(Wrong, match="shape"):
        expect_tensor(torch.ones(2, 3), (3, 2), "z")


def test_quiz_never_names_the_answer(capsys, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    key = answer_key("t/q1", "b")
    assert answer_key("t/q1", " B ") == key and answer_key("t/q2", "b") != key
    check_choice("c", question="t/q1", key=key, hint="Reread it.")
    out = capsys.readouterr().out
    assert "WRONG" in out and "(b)" not in out and "Reread it." in out
    check_choice(None, question="t/q1", key=key)
    assert "NOT ATTEMPTED" in capsys.readouterr().out
    check_choice("z", question="t/q1", key=key)
    assert "not an option" in capsys.readouterr().out
    check_choice("b", question="t/q1", key=key)
    assert "PASSED" in capsys.readouterr().out


def test_check_result_states_and_text():
    from lessonlib.checks.core import PASSED, CheckResult

    ok = CheckResult("double", PASSED, "public checks passed")
    assert ok.passed and "double" in str(ok) and "public checks passed" in str(ok)
    bad = check_double.run(lambda x: x)
    assert not bad.passed and "unchanged" in str(bad)


def test_an_exception_outside_the_learners_code_is_a_bug_in_the_check():
    from lessonlib.autoencoders.shapes import conv_out_size
    from lessonlib.checks.core import PublicCheck

    broken = PublicCheck("broken", conv_out_size)  # the probe itself raises TypeError
    result = broken.run(lambda x: x)
    assert result.status == "wrong" and "bug in the course" in result.message

    def learner(x):
        return x / "a"  # raises inside the learner's own code

    crash = check_double.run(learner)
    assert "your code raised TypeError" in crash.message


def test_provenance_rejects_borrowed_references():
    import functools
    import types

    from lessonlib.autoencoders import gaussian
    from lessonlib.checks.provenance import borrowed_reason
    from lessonlib.quantizers.vq import VectorQuantizer

    ref = gaussian.kl_standard_normal
    env = {"__name__": "__main__", "ref_alias": ref, "gaussian": gaussian,
           "VQ": VectorQuantizer, "nn": __import__("torch").nn}
    exec("def own(mu, logvar):\n    return 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(-1)\n"
         "def wrapper(mu, logvar):\n    return ref_alias(mu, logvar)\n"
         "def via_module(mu, logvar):\n    return gaussian.kl_standard_normal(mu, logvar)\n"
         "def inner_import(mu, logvar):\n"
         "    from lessonlib.autoencoders.gaussian import kl_standard_normal\n"
         "    return kl_standard_normal(mu, logvar)\n"
         "def by_default(mu, logvar, f=ref_alias):\n    return f(mu, logvar)\n"
         "class Sub(VQ):\n    pass\n"
         "class Own(nn.Module):\n    def forward(self, z):\n        return z\n"
         "class Delegates(nn.Module):\n    def forward(self, z):\n"
         "        return VQ.forward(self, z)\n", env)
    assert borrowed_reason(env["own"], ref) is None
    assert borrowed_reason(env["Own"], VectorQuantizer) is None
    for name in ("wrapper", "via_module", "inner_import", "by_default"):
        assert borrowed_reason(env[name], ref) is not None, name
    assert "itself" in borrowed_reason(ref, ref)
    assert "subclass" in borrowed_reason(env["Sub"], VectorQuantizer)
    assert borrowed_reason(env["Delegates"], VectorQuantizer) is not None
    assert borrowed_reason(functools.partial(ref), ref) is not None
    closure = types.FunctionType((lambda: lambda m, lv: ref(m, lv))().__code__,
                                 {"__name__": "__main__"}, closure=(
                                     types.CellType(ref),))
    closure.__module__ = "__main__"
    assert borrowed_reason(closure, ref) is not None
    assert borrowed_reason((1.0, 2.0), (1.0, 2.0)) is None  # values are not checked


def test_a_wrapper_around_an_equivalent_lessonlib_function_is_rejected():
    from lessonlib.checks.quantizers.codebook import check_codebook_perplexity
    from lessonlib.core import information

    env = {"__name__": "__main__", "code_perplexity": information.code_perplexity,
           "information": information, "torch": __import__("torch")}
    exec("def wrapped(indices, num_codes):\n    return code_perplexity(indices, num_codes)\n"
         "def via_module(indices, num_codes):\n"
         "    return information.code_perplexity(indices, num_codes)\n"
         "def own(indices, num_codes):\n"
         "    counts = torch.bincount(indices.reshape(-1), minlength=num_codes).double()\n"
         "    p = counts / counts.sum()\n"
         "    return torch.exp(-torch.xlogy(p, p).sum())\n", env)
    for name in ("wrapped", "via_module"):
        result = check_codebook_perplexity.run(env[name], provenance=True)
        assert result.status == "wrong" and "code_perplexity" in result.message, name
    assert check_codebook_perplexity.run(env["own"], provenance=True).passed


def test_shared_probe_helpers():
    import torch

    from lessonlib.checks.core import (
        attempt_pure,
        expect_close,
        expect_number,
        expect_tuple,
        keeps_rng,
        rounded,
        seeded,
    )

    assert expect_tuple([1, 2], "a, b") == (1, 2) and expect_tuple((1,), ["a"]) == (1,)
    with pytest.raises(Wrong, match=r"return a pair \(a, b\), got tuple of length 3"):
        expect_tuple((1, 2, 3), "a, b")
    with pytest.raises(Wrong, match=r"set x to a tuple \(a, b, c\), got int"):
        expect_tuple(7, "a, b, c", "set x to")
    with pytest.raises(Wrong, match="transposed"):
        expect_tensor(torch.ones(3, 2), (2, 3), "z", {(3, 2): "transposed"})
    assert expect_number(3, int) == 3 and expect_number(2, float) == 2.0
    for bad, kind, pattern in [(torch.tensor(3), int, "got a tensor"), (2.0, int, "got float"),
                               (True, float, "got bool")]:
        with pytest.raises(Wrong, match=pattern):
            expect_number(bad, kind)
    slips = {"you doubled it.": 4.0, "never the answer": None}
    expect_close(2.0 + 1e-7, 2.0, "off", slips)
    with pytest.raises(Wrong, match="you doubled it"):
        expect_close(4.0, 2.0, "off", slips)
    with pytest.raises(Wrong, match="off"):
        expect_close(3.0, 2.0, "off", slips)
    with pytest.raises(Wrong, match="off"):  # a slip equal to the answer is skipped
        expect_close([1, 2], [1, 3], "off", {"same as want": [1, 3]}, same=list.__eq__)
    assert rounded(torch.tensor([[1.23456, 2.0]]), 2) == [1.23, 2.0]

    x, y = torch.ones(2), torch.zeros(2)
    assert attempt_pure(lambda a, b, k: a + b + k, x, y, 1, names="x, y").tolist() == [2, 2]
    with pytest.raises(Wrong, match="`y` in place"):
        attempt_pure(lambda a, b: b.add_(1), x, y, names="x, y")
    with pytest.raises(NotAttempted):
        attempt_pure(lambda a: None, x, names="x")

    state = torch.get_rng_state()
    with seeded(3):
        first = torch.rand(2)
    with seeded(3):
        assert torch.equal(first, torch.rand(2))
    assert torch.equal(state, torch.get_rng_state())
    assert keeps_rng(lambda obj: torch.rand(obj))(2).shape == (2,)
    assert torch.equal(state, torch.get_rng_state())

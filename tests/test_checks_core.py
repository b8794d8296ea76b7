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


def test_call_raises_while_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(AssertionError, match="not attempted|NOT ATTEMPTED"):
        check_double(_stub)
    check_double(_reference)  # passes: no exception


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

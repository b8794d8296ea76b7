"""The pitfall clinic's checks (lessonlib.checks.review): each passes lessonlib's reference and
independent correct versions written differently, names the buggy function of the notebook
and the fix of the symptom that keeps the bug, and blames odd output on the learner, never
on the course. (tests/test_grading.py runs the wrong versions of tests/wrong/ch11_review.py
through the same checks, messages included.)"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lessonlib.checks.review import (
    check_fix_causal_mask,
    check_fix_fsq_even_levels,
    check_fix_gumbel_max,
    check_fix_kl_per_example,
    check_fix_lfq_entropy_sign,
    check_fix_vq_stop_gradient,
)

CHECKS = [check_fix_kl_per_example, check_fix_vq_stop_gradient, check_fix_lfq_entropy_sign,
          check_fix_fsq_even_levels, check_fix_gumbel_max, check_fix_causal_mask]


def _from_notebook(source: str, name: str):
    """A function defined as in a notebook cell (module __main__), for provenance."""
    namespace = {"__name__": "__main__", "torch": torch, "F": F, "math": math}
    exec(source, namespace)
    return namespace[name]


# Correct versions written another way than the references.
KL_VIA_DISTRIBUTIONS = """
def fix_kl_per_example(mu, logvar):
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum(-1)
"""
VQ_WITH_LOOP = """
def fix_vq_stop_gradient(z_e, codebook):
    idx = torch.stack([((codebook - row.detach()) ** 2).sum(1).argmin() for row in z_e])
    z_q = codebook[idx]
    return z_e + (z_q - z_e).detach(), idx
"""
GUMBEL_LOG_SOFTMAX = """
def fix_gumbel_max(logits, generator=None):
    u = torch.rand(logits.shape, generator=generator)
    return (torch.log_softmax(logits, -1) - torch.log(-torch.log(u))).argmax(-1)
"""
MASK_TRIL = """
def fix_causal_mask(n):
    return torch.tril(torch.ones(n, n)).bool()
"""


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_the_reference_passes(check):
    assert check.run(check.reference).passed


@pytest.mark.parametrize("source,name,check", [
    (KL_VIA_DISTRIBUTIONS, "fix_kl_per_example", check_fix_kl_per_example),
    (VQ_WITH_LOOP, "fix_vq_stop_gradient", check_fix_vq_stop_gradient),
    (GUMBEL_LOG_SOFTMAX, "fix_gumbel_max", check_fix_gumbel_max),
    (MASK_TRIL, "fix_causal_mask", check_fix_causal_mask),
])
def test_correct_versions_written_differently_pass(source, name, check):
    result = check.run(_from_notebook(source, name), provenance=True)
    assert result.passed, result.message


# The buggy functions as the notebook shows them (its read-only cells).
BUGGY = {
    "fix_kl_per_example": ("""
def f(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum()
""", "summed over the batch"),
    "fix_vq_stop_gradient": ("""
def f(z_e, codebook):
    indices = torch.cdist(z_e, codebook).argmin(dim=1)
    z_q = codebook[indices]
    return z_q + (z_e - z_q).detach(), indices
""", "detach is on the wrong side"),
    "fix_gumbel_max": ("""
def f(logits, generator=None):
    u = torch.rand(logits.shape, generator=generator)
    return (torch.log(logits) - torch.log(-torch.log(u))).argmax(dim=-1)
""", "log of the logits"),
    "fix_causal_mask": ("""
def f(n):
    return torch.ones(n, n, dtype=torch.bool).tril(diagonal=1)
""", "key i \\+ 1"),
}


@pytest.mark.parametrize("name", sorted(BUGGY))
def test_the_buggy_function_is_named(name):
    check = next(c for c in CHECKS if c.name == name)
    source, pattern = BUGGY[name]
    result = check.run(_from_notebook(source, "f"))
    assert result.status == "wrong"
    import re

    assert re.search(pattern, result.message), result.message


@pytest.mark.parametrize("source,check", [
    ("def f(mu, logvar):\n    return [0.0] * mu.shape[0]\n", check_fix_kl_per_example),
    ("def f(mu, logvar):\n    raise ValueError('oops')\n", check_fix_kl_per_example),
    ("def f(z_e, codebook):\n    return z_e\n", check_fix_vq_stop_gradient),
    ("def f(z, inv_temperature=100.0):\n    return 1.0, 2.0\n", check_fix_lfq_entropy_sign),
    ("def f(z, levels):\n    return z\n", check_fix_fsq_even_levels),
    ("def f(logits, generator=None):\n    return logits.softmax(-1)\n", check_fix_gumbel_max),
    ("def f(logits, generator=None):\n    return logits.argmax(-1).float()\n",
     check_fix_gumbel_max),
    ("def f(n):\n    return torch.ones(n, n).tril()\n", check_fix_causal_mask),
    ("def f(n):\n    return [[j <= i for j in range(n)] for i in range(n)]\n",
     check_fix_causal_mask),
])
def test_odd_answers_are_the_learners_mistake_not_a_course_bug(source, check):
    result = check.run(_from_notebook(source, "f"))
    assert result.status == "wrong", result
    assert "bug in the course" not in result.message, result.message


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_a_stub_is_not_attempted(check):
    result = check.run(_from_notebook("def f(*args, **kwargs):\n    pass\n", "f"))
    assert result.status == "not attempted"


def test_the_gumbel_check_insists_on_the_generator():
    ignores = _from_notebook("""
def f(logits, generator=None):
    u = torch.rand_like(logits)
    return (logits - torch.log(-torch.log(u))).argmax(-1)
""", "f")
    result = check_fix_gumbel_max.run(ignores)
    assert result.status == "wrong" and "generator" in result.message


def test_the_checks_leave_the_random_stream_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    for check in CHECKS:
        check.run(check.reference)
    assert torch.equal(before, torch.random.get_rng_state())

"""Pitfall clinic: a causal mask that shows each position the next token (fix_causal_mask).

`torch.ones(n, n).tril(diagonal=1)` lets query i attend to key i + 1. In an autoregressive
prior the input at position i + 1 is the very token that position i is trained to predict,
so training looks excellent (the target is copied) and sampling, where that token does not
exist yet, fails. Removing the diagonal as well (`diagonal=-1`) stops the leak (the
symptom) and breaks the first row, which then has no key at all.
"""

from __future__ import annotations

import torch

from lessonlib.checks.core import attempt, expect, public_check
from lessonlib.checks.priors.masks import check_causal_mask
from lessonlib.priors import masks


def _probe_no_leak(fn) -> None:
    """n = 5: the slips of the diagonal named before the course's check runs."""
    out = attempt(fn, 5)
    expect(isinstance(out, torch.Tensor) and tuple(out.shape) == (5, 5),
           "fix_causal_mask(5) should return a [5, 5] tensor.")
    ones = torch.ones(5, 5, dtype=torch.bool)
    allowed = out != 0 if out.dtype != torch.bool else out
    expect(not torch.equal(allowed, ones.tril(diagonal=1)), "query i still sees key i + 1: "
           "in an autoregressive prior that is the token position i is trained to predict, "
           "so the model learns to copy it (a training loss too good to be true) and fails "
           "at sampling time. Causal means key j <= query i: torch.tril with diagonal=0.")
    expect(not torch.equal(allowed, ones.tril(diagonal=-1)), "no position sees the future "
           "now, but the diagonal is gone too: a position must attend to itself (j <= i, not "
           "j < i); the first row has no key at all, and the softmax over it gives NaN.")


@public_check("fix_causal_mask", reference=masks.causal_mask)
def check_fix_causal_mask(fn) -> None:
    """The diagonal slips, then chapter 10's check of the mask (n = 4, 1, 49)."""
    _probe_no_leak(fn)
    check_causal_mask.probe(fn)

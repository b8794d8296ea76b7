"""Pitfall clinic: LFQ's entropy terms with the minus sign missing (fix_lfq_entropy_sign).

`(p * log p).sum()` is -H, not H. With both entropies negated, MAGVIT-v2's auxiliary loss
per_sample - codebook is turned around: it rewards undecided assignments (every channel
pushed towards 0) and a batch concentrated on a few codes, the collapse it exists to
prevent. Negating only the codebook term removes the collapse (the symptom) and keeps the
per-sample term rewarding undecided assignments.
"""

from __future__ import annotations

import torch

from lessonlib.checks.core import (
    attempt,
    close,
    expect,
    expect_tuple,
    public_check,
    reject_slips,
)
from lessonlib.checks.quantizers.lfq import check_lfq_entropy_terms
from lessonlib.quantizers import lfq

_MINUS = "H(p) = -sum_c p(c) log p(c), with the minus sign, for both terms."


def _probe_signs(fn) -> None:
    """Both entropies are >= 0; the slips of the sign named on a [24, 4] batch."""
    z = torch.randn(24, 4, generator=torch.Generator().manual_seed(11)) * 0.3  # [N, d]
    per, cb = (float(v) for v in lfq.lfq_entropy_terms(z.double(), 1.0))
    out = expect_tuple(attempt(fn, z.clone(), 1.0), "per_sample_entropy, codebook_entropy")
    for name, value in zip(("per_sample_entropy", "codebook_entropy"), out):
        expect(isinstance(value, torch.Tensor) and value.numel() == 1,
               f"{name} should be a one-number tensor.")
    got = tuple(float(v) for v in out)
    reject_slips(got, {
        "both entropies are still negative: sum p log p is -H. With -H in both terms the "
        "loss per_sample - codebook rewards undecided assignments and a batch squeezed onto "
        "a few codes. " + _MINUS: (-per, -cb),
        "the codebook entropy is right now, but the per-sample entropy is still -H: the "
        "collapse is gone, yet the loss still rewards undecided assignments (it pushes every "
        "channel towards 0). The bug is in the entropy itself: " + _MINUS: (-per, cb),
        "the per-sample entropy is right now, but the codebook entropy is still -H: the loss "
        "would squeeze the batch onto a few codes. " + _MINUS: (per, -cb),
        "codebook_entropy equals per_sample_entropy: the codebook term is the entropy of the "
        "batch-average assignment, H(mean_i p_i): average p over the samples first, then take "
        "one entropy.": (per, per),
    }, want=(per, cb), same=lambda a, b: close(a[0], b[0], 1e-4) and close(a[1], b[1], 1e-4))
    expect(got[0] >= -1e-6 and got[1] >= -1e-6, "an entropy came out negative: " + _MINUS)


@public_check("fix_lfq_entropy_sign", reference=lfq.lfq_entropy_terms)
def check_fix_lfq_entropy_sign(fn) -> None:
    """The signs of both entropies, then chapter 7's check of the entropy terms."""
    _probe_signs(fn)
    check_lfq_entropy_terms.probe(fn)

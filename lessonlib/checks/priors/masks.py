"""Public check for the causal attention mask (lessonlib.priors.masks.causal_mask).

The mask follows F.scaled_dot_product_attention's boolean convention (True = may attend).
The probes name the classic slips: the upper triangle (attending to the future), the
diagonal left out, the inverted convention of nn.MultiheadAttention, and a float mask
(which SDPA adds to the scores instead of using it to block).
"""

from __future__ import annotations

import torch

from lessonlib.checks.core import attempt, expect, fail, public_check
from lessonlib.priors import masks as ref


def _slips(n: int) -> list[tuple[str, torch.Tensor]]:
    ones = torch.ones(n, n, dtype=torch.bool)
    return [
        ("True sits above the diagonal: query i would attend to the future keys j > i. "
         "Causal means j <= i: the lower triangle, torch.tril", ones.triu()),
        ("the diagonal is missing: a position must attend to itself (j <= i, not j < i); "
         "the first row would have no key at all and softmax would give NaN",
         ones.tril(diagonal=-1)),
        ("the mask is inverted: True = blocked is nn.MultiheadAttention's convention; "
         "F.scaled_dot_product_attention's boolean attn_mask uses True = may attend",
         ~ones.tril()),
        ("the mask is inverted: True = blocked is nn.MultiheadAttention's convention; "
         "F.scaled_dot_product_attention's boolean attn_mask uses True = may attend",
         ones.triu(diagonal=1)),
        ("every entry is True: that is no mask at all (bidirectional attention)", ones),
    ]


def _probe_one(fn, n: int) -> None:
    out = attempt(fn, n)
    expect(isinstance(out, torch.Tensor), f"causal_mask({n}) should return a tensor, got "
           f"{type(out).__name__}.")
    expect(tuple(out.shape) == (n, n), f"causal_mask({n}) should have shape [{n}, {n}], got "
           f"{list(out.shape)}.")
    want = ref.causal_mask(n)
    if out.dtype != torch.bool:
        as_bool = out != 0
        if out.is_floating_point() and torch.equal(as_bool, want):
            fail("the mask is a float tensor of 1s and 0s: F.scaled_dot_product_attention "
                 "ADDS a float mask to the scores (blocking nothing); return a BoolTensor "
                 "(dtype=torch.bool), True where j <= i.")
        if out.is_floating_point() and torch.equal(out == 0, want):
            fail("you built the additive form (0 where allowed, -inf where blocked): that "
                 "works as a float attn_mask, but this function returns the BoolTensor, "
                 "True where j <= i.")
        fail(f"causal_mask should return a BoolTensor (dtype=torch.bool), got {out.dtype}.")
    if n > 1:
        for message, wrong in _slips(n):
            expect(not torch.equal(out, wrong), message + ".")
    expect(torch.equal(out, want), f"causal_mask({n}) should be True exactly where key j <= "
           "query i (row = query, column = key).")


@public_check("causal_mask", reference=ref.causal_mask)
def check_causal_mask(fn) -> None:
    """Shape, dtype and the lower triangle for n = 4, 1 and 49 (a 7x7 token grid)."""
    for n in (4, 1, 49):
        _probe_one(fn, n)

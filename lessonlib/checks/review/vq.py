"""Pitfall clinic: the straight-through estimator with the detach on the wrong side
(fix_vq_stop_gradient).

`z_q + (z_e - z_q).detach()` has the forward value z_e (the decoder never sees a code) and
sends the decoder's gradient to the codebook instead of the encoder. The two tempting
half-fixes repair the forward value only: returning `z_q` itself, or `z_e + (z_q - z_e)`
without the detach; in both, no gradient reaches the encoder.
"""

from __future__ import annotations

import torch

from lessonlib.checks.core import attempt, expect, expect_tuple, fail, keeps_rng, public_check
from lessonlib.checks.quantizers.vq import check_vq_straight_through
from lessonlib.quantizers import vq

_FIX = "Write z_e + (z_q - z_e).detach()."


def _probe_gradient_route(fn) -> None:
    """Forward value = nearest code; a downstream gradient reaches z_e, not the codebook."""
    codebook = torch.tensor([[0.9, 0.1], [0.1, 0.9], [-0.5, -0.5]], requires_grad=True)
    z_e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-0.3, -0.8]], requires_grad=True)  # [3, 2]
    z_q_st = expect_tuple(attempt(fn, z_e, codebook), "z_q_st, indices")[0]
    expect(isinstance(z_q_st, torch.Tensor) and tuple(z_q_st.shape) == (3, 2),
           "z_q_st should be a tensor of the shape of z_e, [B, D].")
    want = codebook.detach()[[0, 1, 2]]
    expect(not torch.allclose(z_q_st.detach(), z_e.detach()), "the forward value is still "
           "z_e: the decoder never sees a code. In z_q + (z_e - z_q).detach() the detach is "
           "on the wrong side. " + _FIX)
    expect(torch.allclose(z_q_st.detach(), want), "in the forward pass z_q_st should be the "
           f"nearest codes {want.tolist()}, got {z_q_st.detach().tolist()}.")
    expect(z_q_st.requires_grad, "z_q_st carries no gradient at all: it was cut off from "
           "z_e. " + _FIX)
    upstream = torch.tensor([[1.0, -2.0], [0.5, 0.25], [-1.0, 3.0]])  # dL/dz_q_st
    g_ze, g_cb = torch.autograd.grad((z_q_st * upstream).sum(), [z_e, codebook],
                                     allow_unused=True)
    if g_ze is None:
        fail("the forward value is right now, but you return the code itself: z_q = "
             "codebook[indices] has no path back to z_e, so the decoder's gradient stops at "
             "the codebook and the encoder never learns from the reconstruction. " + _FIX)
    if not bool(g_ze.ne(0).any()):
        fail("the forward value is right now, but the gradient reaching z_e is 0: without "
             ".detach(), z_e + (z_q - z_e) is just z_q, and the two z_e terms cancel in the "
             "backward pass too (the gradient goes to the codebook). " + _FIX)
    expect(torch.allclose(g_ze, upstream), "the gradient reaching z_e should be the gradient "
           "at z_q_st, copied unchanged (that is what a straight-through estimator does).")
    expect(g_cb is None or not bool(g_cb.ne(0).any()), "the codebook also receives the "
           "decoder's gradient: put the whole difference inside .detach(). " + _FIX)


@public_check("fix_vq_stop_gradient", reference=vq.vq_straight_through)
@keeps_rng
def check_fix_vq_stop_gradient(fn) -> None:
    """Where the gradient goes with a learnable codebook, then chapter 5's check."""
    _probe_gradient_route(fn)
    check_vq_straight_through.probe(fn)

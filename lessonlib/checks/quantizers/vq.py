"""Public checks for vector quantization: vq_straight_through, VectorQuantizer, sends_gradient.

Each probe uses tiny hand-made inputs (well under a second) and names the classic slips:
detach on the wrong side, no gradient reaching the encoder, argmax instead of argmin, a
dot product instead of a distance, a missing permute, beta on the wrong term, missing
stop-gradients, perplexity per batch row, and flat indices.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from lessonlib.checks.core import (
    NotAttempted,
    attempt,
    close,
    expect,
    fail,
    public_check,
    reject_slips,
)
from lessonlib.core import gradient_flow
from lessonlib.core.information import code_perplexity
from lessonlib.quantizers import vq

# Codes of different lengths: a dot product (without the squared norms) prefers long codes,
# so it picks the wrong code for a z_e that sits on the short code 0.
_CODEBOOK = torch.tensor([[0.0, 0.0, 0.0], [1.5, 0.0, 0.0], [0.0, 1.5, 0.0],
                          [0.0, 0.0, 1.5], [1.0, 1.0, 1.0]])  # [K=5, D=3]


_EQUALS_Z_E = ("the forward value equals z_e, not the nearest code. If you wrote "
               "z_q + (z_e - z_q).detach(), the detach is on the wrong side: that adds up to "
               "z_e, and its gradient goes to the codebook instead of the encoder. Write "
               "z_e + (z_q - z_e).detach().")


def _keeps_rng(probe):
    """Run a probe without touching the global torch RNG (module inits draw from it)."""

    @functools.wraps(probe)
    def wrapped(obj):
        with torch.random.fork_rng(devices=[]):
            return probe(obj)

    return wrapped


def _is_int_tensor(t) -> bool:
    return isinstance(t, torch.Tensor) and not t.is_floating_point() and t.dtype != torch.bool


def _grad_or_zero(grad, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(like) if grad is None else grad


def _is_zero(grad) -> bool:
    return grad is None or not bool(grad.ne(0).any())


def _unpack_pair(out):
    expect(isinstance(out, (tuple, list)) and len(out) == 2,
           f"return a pair (z_q_st, indices), got {type(out).__name__}.")
    z_q_st, indices = out
    expect(not (_is_int_tensor(z_q_st) and isinstance(indices, torch.Tensor)
                and indices.is_floating_point()),
           "the pair is in the wrong order: return (z_q_st, indices).")
    return z_q_st, indices


def _index_slips(indices: torch.Tensor, z: torch.Tensor, codebook: torch.Tensor) -> None:
    """Name the usual wrong choices of index before comparing with the nearest code."""
    dist2 = torch.cdist(z.double(), codebook.double()).pow(2)  # [N, K]
    want = dist2.argmin(dim=1)
    got = indices.reshape(-1).cpu()
    reject_slips(got, {
        "these are the FARTHEST codes: use argmin of the distance, not argmax.":
            dist2.argmax(dim=1),
        "you compared codes by the dot product z_e . e_k alone: that favours long codes. The "
        "squared distance is ||z_e||^2 - 2 z_e . e_k + ||e_k||^2; the ||e_k||^2 part matters "
        "(torch.cdist or the expanded formula both work).":
            (z.double() @ codebook.double().t()).argmax(dim=1),
    }, want=want, same=torch.equal)
    expect(torch.equal(got, want),
           f"indices should be the nearest codes {want.tolist()}, got {got.tolist()}.")


# ----------------------------------------------------------------------------- vq_straight_through


def _ste_gradient_probe(fn) -> None:
    """Gradient check: a downstream loss sum(G * z_q_st) must give z_e the gradient G."""
    gen = torch.Generator().manual_seed(5)
    codebook = (_CODEBOOK.clone() * 1.0).requires_grad_()  # [5, 3]
    z_e = (_CODEBOOK[[0, 4, 2, 1]] + 0.1 * torch.randn(4, 3, generator=gen)).requires_grad_()
    z_q_st, _ = _unpack_pair(attempt(fn, z_e, codebook))
    expect(isinstance(z_q_st, torch.Tensor) and z_q_st.requires_grad,
           "z_q_st is cut off from the graph (it does not require grad), so no gradient can "
           "reach the encoder: did you .detach() the whole result? Only the difference "
           "(z_q - z_e) goes inside .detach().")
    upstream = torch.randn(4, 3, generator=gen)  # [B, D], the gradient arriving at z_q
    g_ze, g_cb = torch.autograd.grad((z_q_st * upstream).sum(), [z_e, codebook],
                                     allow_unused=True)
    if _is_zero(g_ze):
        expect(_is_zero(g_cb), "no gradient reaches z_e; it all goes to the codebook. Either "
               "the straight-through step is missing (returning codebook[indices] as is, or "
               "z_e + (z_q - z_e) without .detach()) or the detach is on the wrong side "
               "(z_q + (z_e - z_q).detach()). Write z_e + (z_q - z_e).detach().")
        fail("no gradient reaches z_e: write z_e + (z_q - z_e).detach().")
    expect(close(g_ze, upstream, 1e-5),
           "the gradient reaching z_e should equal the gradient at z_q_st (the backward pass "
           "of a straight-through estimator is the identity). Yours is different.")
    expect(_is_zero(g_cb), "the codebook also receives the downstream gradient: put the whole "
           "difference (z_q - z_e) inside .detach(), e.g. z_e + (z_q - z_e).detach().")


@public_check("vq_straight_through", reference=vq.vq_straight_through)
@_keeps_rng
def check_vq_straight_through(fn) -> None:
    """A two-code example, a dot-product trap, and the straight-through gradient."""
    z_e = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)  # [2, 2]
    codebook = torch.tensor([[0.9, 0.1], [0.1, 0.9], [-0.5, -0.5]])  # [3, 2]
    z_q_st, indices = _unpack_pair(attempt(fn, z_e, codebook))
    expect(isinstance(indices, torch.Tensor), "indices should be a tensor (from argmin).")
    expect(tuple(indices.shape) == (2,),
           f"indices should have shape [B] = [2], got {list(indices.shape)}.")
    expect(_is_int_tensor(indices), f"indices should be integers (torch.long from argmin), "
           f"got {indices.dtype}.")
    _index_slips(indices, z_e.detach(), codebook)
    expect(isinstance(z_q_st, torch.Tensor) and tuple(z_q_st.shape) == (2, 2),
           f"z_q_st should be a tensor of shape [B, D] = [2, 2], got "
           f"{list(getattr(z_q_st, 'shape', []))}.")
    expect(not close(z_q_st.detach(), z_e.detach()), _EQUALS_Z_E)
    expect(close(z_q_st.detach(), codebook[[0, 1]]),
           "in the forward pass z_q_st should equal the chosen codebook rows "
           f"[[0.9, 0.1], [0.1, 0.9]], got {z_q_st.detach().tolist()}.")
    expect(z_q_st.requires_grad,
           "z_q_st.requires_grad is False although z_e requires grad: no gradient can reach "
           "the encoder. Either the straight-through step is missing (codebook[indices] "
           "returned as is) or the whole result was detached. Keep z_e in the expression: "
           "z_e + (z_q - z_e).detach().")
    # a dot product alone would send z_e = (0.05, 0, -0.05) to the long code 4
    z2 = _CODEBOOK[[0, 1, 4, 3, 0, 2]] + torch.tensor([0.05, 0.0, -0.05])  # [6, 3]
    _, idx2 = _unpack_pair(attempt(fn, z2, _CODEBOOK))
    expect(isinstance(idx2, torch.Tensor) and tuple(idx2.shape) == (6,),
           f"indices should have shape [6] for z_e [6, 3], got {list(getattr(idx2, 'shape', []))}.")
    _index_slips(idx2, z2, _CODEBOOK)
    _ste_gradient_probe(fn)


# ----------------------------------------------------------------------------- VectorQuantizer

_B, _D, _H, _W, _K = 2, 3, 3, 4, 5
_BETA = 0.4  # not the default 0.25: a hard-coded 0.25 shows


def _pattern() -> tuple[torch.Tensor, torch.Tensor]:
    """A spatially structured z_e [B, D, H, W] whose nearest codes are a known grid [B, H, W]."""
    b, h, w = torch.meshgrid(torch.arange(_B), torch.arange(_H), torch.arange(_W), indexing="ij")
    target = (h + 2 * w + 3 * b * (h == 0)) % _K  # [B, H, W], rows of the batch differ
    gen = torch.Generator().manual_seed(11)
    z = _CODEBOOK[target] + 0.08 * torch.randn(_B, _H, _W, _D, generator=gen)  # [B, H, W, D]
    return z.permute(0, 3, 1, 2).contiguous(), target  # [B, D, H, W], [B, H, W]


def _make(cls, commitment_cost: float):
    """The learner's quantizer with K x D codes, its codebook set to _CODEBOOK."""
    quantizer = attempt(cls, _K, _D, commitment_cost=commitment_cost)
    book = getattr(quantizer, "codebook", None)
    if book is None:
        raise NotAttempted("the quantizer has no .codebook yet (write __init__).")
    expect(isinstance(book, nn.Embedding),
           f".codebook should be an nn.Embedding(K, D), got {type(book).__name__}.")
    expect(tuple(book.weight.shape) == (_K, _D),
           f".codebook.weight should be [K, D] = [{_K}, {_D}], got {list(book.weight.shape)}.")
    with torch.no_grad():
        book.weight.copy_(_CODEBOOK)
    return quantizer


def _unpack_four(out):
    expect(isinstance(out, (tuple, list)) and len(out) == 4,
           "forward should return four things: (z_q, indices, vq_loss, perplexity).")
    return out


def _check_indices(indices, z_e, target) -> None:
    """The token grid [B, H, W] of nearest codes, positions kept in place."""
    expect(isinstance(indices, torch.Tensor), "indices should be a tensor.")
    n = _B * _H * _W
    expect(tuple(indices.shape) != (n,), f"indices has shape [B*H*W] = [{n}]: reshape it to "
           f"the token grid [B, H, W] = [{_B}, {_H}, {_W}].")
    expect(tuple(indices.shape) == (_B, _H, _W),
           f"indices should have shape [B, H, W] = [{_B}, {_H}, {_W}], got "
           f"{list(indices.shape)}.")
    expect(_is_int_tensor(indices), f"indices should be integers (torch.long), got "
           f"{indices.dtype}.")
    reject_slips(indices.cpu(), {
        "the positions are scrambled: z_e.view(-1, D) on a channels-first [B, D, H, W] tensor "
        "mixes numbers from different positions. Move the channels last first: "
        "z_e.permute(0, 2, 3, 1).reshape(-1, D).":
            vq.nearest_code(z_e.reshape(-1, _D), _CODEBOOK).reshape(_B, _H, _W),
    }, want=target, same=torch.equal)
    _index_slips(indices.reshape(-1), z_e.permute(0, 2, 3, 1).reshape(-1, _D), _CODEBOOK)


def _check_z_q(z_q, target, z_e) -> None:
    """The forward value of z_q: the nearest code at every position, shape [B, D, H, W]."""
    expect(isinstance(z_q, torch.Tensor) and tuple(z_q.shape) == (_B, _D, _H, _W),
           f"z_q should have the shape of z_e, [B, D, H, W] = [{_B}, {_D}, {_H}, {_W}], got "
           f"{list(getattr(z_q, 'shape', []))}.")
    want = _CODEBOOK[target].permute(0, 3, 1, 2)  # [B, D, H, W]
    reject_slips(z_q.detach(), {
        _EQUALS_Z_E: z_e,
        "the indices are right but z_q is scrambled: its rows are channels-last [B*H*W, D]; "
        "reshape them to [B, H, W, D] and permute(0, 3, 1, 2) back to [B, D, H, W] (a plain "
        ".view(B, D, H, W) mixes positions).":
            _CODEBOOK[target.reshape(-1)].reshape(_B, _D, _H, _W),
    }, want=want)
    expect(close(z_q.detach(), want, 1e-5),
           "in the forward pass z_q should hold the nearest code at every position.")


def _check_vq_loss_value(vq_loss, target, z_e) -> None:
    """vq_loss = (1 + beta) * mean squared distance to the codes, beta = commitment_cost."""
    mse = float((_CODEBOOK[target].permute(0, 3, 1, 2) - z_e).pow(2).mean())
    expect(isinstance(vq_loss, torch.Tensor) and vq_loss.numel() == 1,
           "vq_loss should be a scalar tensor.")
    loss = float(vq_loss.detach())
    missing_term = "vq_loss is missing a term: it is codebook + commitment_cost * commitment."
    reject_slips(loss, [
        ("vq_loss is N*D times too large: use the mean squared error (F.mse_loss), not the "
         "sum.", (1 + _BETA) * mse * _B * _H * _W * _D),
        ("vq_loss uses commitment_cost 0.25 although this quantizer was built with "
         f"{_BETA}: use self.commitment_cost.", 1.25 * mse),
        (missing_term, mse),
        (missing_term, _BETA * mse),
    ], want=(1 + _BETA) * mse, tol=1e-4)
    expect(close(loss, (1 + _BETA) * mse, 1e-4), f"vq_loss should be ||sg[z_e] - e||^2 + "
           f"beta ||z_e - sg[e]||^2 (means) = {(1 + _BETA) * mse:.5f} here, got {loss:.5f}.")


def _check_perplexity(perplexity, target) -> None:
    """exp(entropy) of the code usage pooled over the whole batch."""
    expect(isinstance(perplexity, (torch.Tensor, float, int)),
           "perplexity should be a number (a scalar tensor).")
    perp = float(perplexity.detach() if isinstance(perplexity, torch.Tensor) else perplexity)
    want = float(code_perplexity(target, _K))
    reject_slips(perp, {
        "perplexity was computed per batch row and averaged: pool the codes of ALL positions "
        "of the batch, then take exp(entropy) of that usage distribution.":
            sum(float(code_perplexity(target[i], _K)) for i in range(_B)) / _B,
        "you returned the entropy: perplexity is exp(entropy).": math.log(want),
    }, want=want, tol=1e-4)
    expect(close(perp, want, 1e-4), f"perplexity should be exp(entropy of the code usage) = "
           f"{want:.4f} here, got {perp:.4f}.")


def _check_straight_through(quantizer, z_e_data) -> None:
    """A downstream loss sends its gradient to the encoder only, unchanged (straight-through)."""
    weight = quantizer.codebook.weight
    z_e = z_e_data.clone().requires_grad_()
    z_q = _unpack_four(attempt(quantizer, z_e))[0]
    expect(z_q.requires_grad, "z_q does not require grad: no gradient from the decoder can "
           "reach the encoder (straight-through: z_e + (z_q - z_e).detach()).")
    upstream = torch.randn(z_q.shape, generator=torch.Generator().manual_seed(3))
    g_ze, g_cb = torch.autograd.grad((z_q * upstream).sum(), [z_e, weight], allow_unused=True)
    if _is_zero(g_ze):
        fail("no gradient from the decoder reaches the encoder"
             + (": it goes to the codebook instead. The straight-through step is missing or "
                "the detach is on the wrong side; write z_e + (z_q - z_e).detach()."
                if not _is_zero(g_cb) else "."))
    expect(close(g_ze, upstream, 1e-5),
           "the gradient reaching z_e should equal the gradient at z_q (straight-through "
           "copy), position by position. Check the reshapes around the quantization.")
    expect(_is_zero(g_cb), "the decoder's gradient also reaches the codebook: the whole "
           "difference (z_q - z_e) must be inside .detach(); the codebook learns only from "
           "the codebook term.")


def _check_vq_loss_gradients(quantizer, z_e_data, target) -> None:
    """vq_loss moves the codebook through its first term, the encoder through the second."""
    weight = quantizer.codebook.weight
    z_e = z_e_data.clone().requires_grad_()
    vq_loss = _unpack_four(attempt(quantizer, z_e))[2]
    expect(isinstance(vq_loss, torch.Tensor) and vq_loss.requires_grad,
           "vq_loss does not require grad: neither the codebook nor the encoder can learn "
           "from it (did you compute it from detached tensors only?).")
    g_ze, g_cb = torch.autograd.grad(vq_loss, [z_e, weight], allow_unused=True)
    expect(not _is_zero(g_cb), "the codebook term sends no gradient to the codebook: "
           "||sg[z_e] - e||^2 must keep e (the codebook rows) in the graph.")
    expect(not _is_zero(g_ze), "the commitment term sends no gradient to the encoder: "
           "||z_e - sg[e]||^2 must keep z_e in the graph.")
    book, z = _CODEBOOK.clone().requires_grad_(), z_e_data.clone().requires_grad_()
    codes = book[target].permute(0, 3, 1, 2)  # [B, D, H, W]
    oracle = (codes - z.detach()).pow(2).mean() + _BETA * (z - codes.detach()).pow(2).mean()
    want_cb, want_ze = torch.autograd.grad(oracle, [book, z])
    got = (_grad_or_zero(g_cb, weight), _grad_or_zero(g_ze, z_e))
    reject_slips(got, {
        "missing stop-gradients: both terms move both sides. In the codebook term detach "
        "z_e, mse(z_q, z_e.detach()); in the commitment term detach the code, "
        "mse(z_e, z_q.detach()).": ((1 + _BETA) * want_cb, (1 + _BETA) / _BETA * want_ze),
        "beta is on the wrong term: commitment_cost multiplies the codebook term. It belongs "
        "to the commitment term ||z_e - sg[e]||^2, the one that moves the encoder (or the two "
        "stop-gradients are swapped).": (_BETA * want_cb, want_ze / _BETA),
        "the commitment term uses 0.25 although this quantizer was built with "
        f"commitment_cost={_BETA}: use self.commitment_cost.": (want_cb, 0.25 / _BETA * want_ze),
    }, want=(want_cb, want_ze), same=lambda a, b: close(a[0], b[0]) and close(a[1], b[1]))
    expect(close(got[0], want_cb, 1e-5), "the codebook term sends the wrong gradient to the "
           "codebook: it should be the mean of ||sg[z_e] - e||^2, with z_e detached.")
    expect(close(got[1], want_ze, 1e-5), "the commitment term sends the wrong gradient to the "
           "encoder: it should be commitment_cost times the mean of ||z_e - sg[e]||^2, with e "
           "detached.")


@public_check("VectorQuantizer", reference=vq.VectorQuantizer)
@_keeps_rng
def check_vector_quantizer(cls) -> None:
    """A [2, 3, 3, 4] map with a known token grid: shapes, indices, values, loss, gradients."""
    quantizer = _make(cls, _BETA)
    z_e, target = _pattern()
    z_q, indices, vq_loss, perplexity = _unpack_four(attempt(quantizer, z_e))
    _check_indices(indices, z_e, target)
    _check_z_q(z_q, target, z_e)
    _check_vq_loss_value(vq_loss, target, z_e)
    _check_perplexity(perplexity, target)
    _check_straight_through(quantizer, z_e)
    _check_vq_loss_gradients(quantizer, z_e, target)
    expect(close(quantizer.codebook.weight.detach(), _CODEBOOK),
           "forward should not change the codebook in place (the optimizer moves it).")


# ----------------------------------------------------------------------------- sends_gradient


def _flow_setup():
    """Two seeded layers a: 3 -> 3, b: 3 -> 1, a spare parameter, x [4, 3] and h = a(x)."""
    gen = torch.Generator().manual_seed(2)
    a = nn.Linear(3, 3)
    b = nn.Linear(3, 1)
    spare = nn.Parameter(torch.ones(2))
    with torch.no_grad():
        for p in [*a.parameters(), *b.parameters()]:
            p.copy_(torch.randn(p.shape, generator=gen))
    x = torch.randn(4, 3, generator=gen)
    h = a(x)  # [4, 3], shared by the first and third loss
    return a, b, spare, x, h


def _ask(fn, loss, groups, want: dict, situation: str) -> dict:
    """The learner's {group name: bool} for `loss`, with autograd's errors explained."""
    try:
        got = attempt(fn, loss, groups)
    except RuntimeError as err:
        if "second time" in str(err) or "freed" in str(err):
            fail("the graph was freed by an earlier backward(): two terms of one model share "
                 "their graph. Use torch.autograd.grad(loss, params, retain_graph=True, "
                 "allow_unused=True).")
        if "does not require grad" in str(err):
            fail(f"{situation}: autograd raised '{err}'. A loss that does not require grad "
                 "reaches no parameter (answer False), and allow_unused=True handles "
                 "parameters outside the graph.")
        raise
    expect(isinstance(got, dict), f"return a dict {{group name: bool}}, got "
           f"{type(got).__name__}.")
    expect(set(got) == set(want), f"the dict should have the keys {sorted(want)}, got "
           f"{sorted(map(str, got))}.")
    for name, value in got.items():
        expect(isinstance(value, bool),
               f"answer with Python bools (True/False), got {type(value).__name__} for "
               f"{name!r}: wrap with bool(...).")
    return got


def _flow_through_layers(fn, a, b, spare, x, h, groups) -> None:
    """Losses through a only, b only (h detached) and both, sharing one graph."""
    first = _ask(fn, h.pow(2).sum(), groups, {"a": True, "b": False, "spare": False},
                 "h.pow(2).sum() with h = a(x)")
    expect(first == {"a": True, "b": False, "spare": False},
           f"loss = a(x)**2 summed moves only group 'a', got {first}.")
    second = _ask(fn, b(h.detach()).sum(), groups, {"a": True, "b": True, "spare": True},
                  "b(h.detach())")
    expect(not second["a"], "group 'a' was reported as moved by b(h.detach()), which cannot "
           "reach it: gradients from an earlier call leaked in. If you read p.grad after "
           "loss.backward(), it accumulates; use torch.autograd.grad instead.")
    expect(second == {"a": False, "b": True, "spare": False},
           f"loss = b(h.detach()) moves only group 'b', got {second}.")
    third = _ask(fn, b(h).sum(), groups, {"a": True, "b": True, "spare": True}, "b(a(x))")
    expect(third == {"a": True, "b": True, "spare": False},
           f"loss = b(a(x)) moves groups 'a' and 'b', got {third}.")


def _flow_edge_cases(fn, a, b, spare, x, groups) -> None:
    """An exactly zero gradient, a group with one reached parameter, a detached loss."""
    zero = _ask(fn, 0.0 * a(x).sum() + spare.sum(), groups, dict.fromkeys(groups, True),
                "0 * a(x).sum() + spare.sum()")
    expect(not zero["a"], "a group whose gradient is exactly zero is not moved: test the "
           "values (grad != 0 anywhere), not only whether autograd returned a tensor.")
    expect(zero == {"a": False, "b": False, "spare": True},
           f"loss = 0 * a(x).sum() + spare.sum() moves only 'spare', got {zero}.")
    mixed = _ask(fn, a(x).sum(), {"mixed": [b.weight, a.weight]}, {"mixed": True},
                 "a group with one reached parameter")
    expect(mixed["mixed"], "a group counts as moved when ANY of its parameters gets a "
           "non-zero gradient (here a.weight does, b.weight does not).")
    detached = _ask(fn, a(x).sum().detach(), groups, dict.fromkeys(groups, False),
                    "a detached loss")
    expect(detached == dict.fromkeys(groups, False),
           f"a detached loss moves nothing, got {detached}.")


@public_check("sends_gradient", reference=gradient_flow.sends_gradient)
@_keeps_rng
def check_sends_gradient(fn) -> None:
    """Two layers, a shared graph, a zero gradient and a fully detached loss."""
    a, b, spare, x, h = _flow_setup()
    groups = {"a": list(a.parameters()), "b": list(b.parameters()), "spare": [spare]}
    _flow_through_layers(fn, a, b, spare, x, h, groups)
    _flow_edge_cases(fn, a, b, spare, x, groups)

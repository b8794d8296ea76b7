"""Public checks for vector quantization: vq_straight_through, VectorQuantizer, sends_gradient."""

from __future__ import annotations

import math

import torch
from torch import nn

from lessonlib.checks.core import (
    NotAttempted,
    attempt,
    close,
    expect,
    expect_close,
    expect_tensor,
    expect_tuple,
    fail,
    keeps_rng,
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
_DETACHED = ("{}.requires_grad is False although z_e requires grad (cut off from the graph): "
             "the straight-through step is missing or the whole result was detached. Write "
             "z_e + (z_q - z_e).detach().")
_EQUALS_Z_E = ("the forward value equals z_e, not the nearest code: in z_q + (z_e - z_q).detach() "
               "the detach is on the wrong side. Write z_e + (z_q - z_e).detach().")


def _is_zero(grad) -> bool:
    return grad is None or not bool(grad.ne(0).any())


def _expect_indices(indices, shape, shape_slips=None) -> torch.Tensor:
    """Integer indices (from argmin) of the given shape."""
    expect_tensor(indices, shape, "indices", shape_slips)
    expect(not indices.is_floating_point() and indices.dtype != torch.bool, "indices should "
           f"be integers (torch.long from argmin), got {indices.dtype}.")
    return indices


def _index_slips(indices: torch.Tensor, z: torch.Tensor, codebook: torch.Tensor,
                 slips: dict | None = None) -> None:
    """The nearest code of each row of z [N, D]; `slips` (message -> indices) named first."""
    dist2 = torch.cdist(z.double(), codebook.double()).pow(2)  # [N, K]
    want, got = dist2.argmin(dim=1), indices.reshape(-1).cpu()
    expect_close(got, want, f"indices should be the nearest codes {want.tolist()}, got "
                 f"{got.tolist()}.", {**(slips or {}),
        "these are the FARTHEST codes: use argmin of the distance, not argmax.":
            dist2.argmax(dim=1),
        "you compared codes by the dot product z_e . e_k alone, which favours long codes: the "
        "squared distance ||z_e||^2 - 2 z_e . e_k + ||e_k||^2 needs the ||e_k||^2 part.":
            (z.double() @ codebook.double().t()).argmax(dim=1)}, same=torch.equal)


def _straight_through(z_q, z_e, weight, upstream, name: str) -> None:
    """A downstream loss sum(G * z_q) sends G to z_e unchanged and nothing to the codebook."""
    expect(isinstance(z_q, torch.Tensor) and z_q.requires_grad, _DETACHED.format(name))
    g_ze, g_cb = torch.autograd.grad((z_q * upstream).sum(), [z_e, weight], allow_unused=True)
    if _is_zero(g_ze):
        fail("no gradient reaches z_e" + ("; it all goes to the codebook: the straight-through "
             "step is missing (z_e + (z_q - z_e) without .detach()) or the detach is on the "
             "wrong side" if not _is_zero(g_cb) else "") + ". Write z_e + (z_q - z_e).detach().")
    expect(close(g_ze, upstream, 1e-5), f"the gradient reaching z_e should equal the gradient "
           f"at {name} (a straight-through estimator copies it), position by position: check "
           "the reshapes around the quantization.")
    expect(_is_zero(g_cb), "the codebook also receives the downstream gradient: put the whole "
           "difference (z_q - z_e) inside .detach(): z_e + (z_q - z_e).detach().")


def _straight_through_pair(fn, z_e, codebook, n: int):
    """The learner's (z_q_st [n, D], indices [n])."""
    z_q_st, indices = expect_tuple(attempt(fn, z_e, codebook), "z_q_st, indices")
    expect(not isinstance(z_q_st, torch.Tensor) or z_q_st.is_floating_point()
           or not isinstance(indices, torch.Tensor) or not indices.is_floating_point(),
           "the pair is in the wrong order: return (z_q_st, indices).")
    _expect_indices(indices, (n,))
    _index_slips(indices, z_e.detach(), codebook.detach())
    return expect_tensor(z_q_st, tuple(z_e.shape), "z_q_st"), indices


@public_check("vq_straight_through", reference=vq.vq_straight_through)
@keeps_rng
def check_vq_straight_through(fn) -> None:
    """A two-code example, a dot-product trap, and the straight-through gradient."""
    z_e = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)  # [2, 2]
    codebook = torch.tensor([[0.9, 0.1], [0.1, 0.9], [-0.5, -0.5]])  # [3, 2]
    z_q_st = _straight_through_pair(fn, z_e, codebook, 2)[0]
    expect(not close(z_q_st.detach(), z_e.detach()), _EQUALS_Z_E)
    expect(close(z_q_st.detach(), codebook[[0, 1]]), "in the forward pass z_q_st should equal "
           f"the chosen codebook rows [[0.9, 0.1], [0.1, 0.9]], got {z_q_st.detach().tolist()}.")
    expect(z_q_st.requires_grad, _DETACHED.format("z_q_st"))
    # a dot product alone would send z_e = (0.05, 0, -0.05) to the long code 4
    _straight_through_pair(fn, _CODEBOOK[[0, 1, 4, 3, 0, 2]] + torch.tensor([0.05, 0.0, -0.05]),
                           _CODEBOOK, 6)
    gen = torch.Generator().manual_seed(5)
    codebook = _CODEBOOK.clone().requires_grad_()  # [5, 3]
    z_e = (_CODEBOOK[[0, 4, 2, 1]] + 0.1 * torch.randn(4, 3, generator=gen)).requires_grad_()
    z_q_st = _straight_through_pair(fn, z_e, codebook, 4)[0]
    _straight_through(z_q_st, z_e, codebook, torch.randn(4, 3, generator=gen), "z_q_st")


_B, _D, _H, _W, _K = 2, 3, 3, 4, 5
_BETA = 0.4  # not the default 0.25: a hard-coded 0.25 shows
_OUTPUTS = "z_q, indices, vq_loss, perplexity"


def _check_values(z_q, indices, z_e, target) -> None:
    """The token grid [B, H, W] of nearest codes and z_q [B, D, H, W], positions in place."""
    n = _B * _H * _W
    _expect_indices(indices, (_B, _H, _W), {(n,): f"indices has shape [B*H*W] = [{n}]: "
                    f"reshape it to the token grid [B, H, W] = [{_B}, {_H}, {_W}]."})
    _index_slips(indices, z_e.permute(0, 2, 3, 1).reshape(-1, _D), _CODEBOOK, {
        "the positions are scrambled: z_e.view(-1, D) on a channels-first [B, D, H, W] tensor "
        "mixes positions. Move the channels last first: z_e.permute(0, 2, 3, 1).reshape(-1, D).":
            vq.nearest_code(z_e.reshape(-1, _D), _CODEBOOK)})
    expect_tensor(z_q, (_B, _D, _H, _W), "z_q (the shape of z_e, [B, D, H, W])")
    expect_close(z_q.detach(), _CODEBOOK[target].permute(0, 3, 1, 2), "in the forward pass z_q "
                 "should hold the nearest code at every position.", {
        _EQUALS_Z_E: z_e,
        "the indices are right but z_q is scrambled: reshape its channels-last rows to "
        "[B, H, W, D], then permute(0, 3, 1, 2) (a plain .view(B, D, H, W) mixes positions).":
            _CODEBOOK[target.reshape(-1)].reshape(_B, _D, _H, _W)})


def _check_loss_and_perplexity(vq_loss, perplexity, target, z_e) -> None:
    """vq_loss = (1 + beta) * mean squared distance; perplexity of the pooled code usage."""
    mse = float((_CODEBOOK[target].permute(0, 3, 1, 2) - z_e).pow(2).mean())
    expect(isinstance(vq_loss, torch.Tensor) and vq_loss.numel() == 1,
           "vq_loss should be a scalar tensor.")
    loss = float(vq_loss.detach())
    missing_term = "vq_loss is missing a term: it is codebook + commitment_cost * commitment."
    expect_close(loss, (1 + _BETA) * mse, f"vq_loss should be ||sg[z_e] - e||^2 + beta "
                 f"||z_e - sg[e]||^2 (means) = {(1 + _BETA) * mse:.5f} here, got {loss:.5f}.", [
        ("vq_loss is N*D times too large: use the mean squared error, not the sum.",
         (1 + _BETA) * mse * _B * _H * _W * _D),
        (f"vq_loss uses commitment_cost 0.25 although this quantizer was built with {_BETA}: "
         "use self.commitment_cost.", 1.25 * mse),
        (missing_term, mse),
        (missing_term, _BETA * mse),
    ], tol=1e-4)
    expect(isinstance(perplexity, (torch.Tensor, float, int)),
           "perplexity should be a number (a scalar tensor).")
    perp = float(perplexity.detach() if isinstance(perplexity, torch.Tensor) else perplexity)
    want = float(code_perplexity(target, _K))
    expect_close(perp, want, f"perplexity should be exp(entropy of the code usage) = "
                 f"{want:.4f} here, got {perp:.4f}.", {
        "perplexity was computed per batch row and averaged: pool the codes of ALL positions "
        "of the batch, then take exp(entropy).":
            sum(float(code_perplexity(target[i], _K)) for i in range(_B)) / _B,
        "you returned the entropy: perplexity is exp(entropy).": math.log(want),
    }, tol=1e-4)


def _check_vq_loss_gradients(quantizer, z_e_data, target) -> None:
    """vq_loss moves the codebook through its first term, the encoder through the second."""
    weight = quantizer.codebook.weight
    z_e = z_e_data.clone().requires_grad_()
    vq_loss = expect_tuple(attempt(quantizer, z_e), _OUTPUTS, "forward should return")[2]
    expect(isinstance(vq_loss, torch.Tensor) and vq_loss.requires_grad, "vq_loss does not "
           "require grad: neither the codebook nor the encoder can learn from it.")
    g_ze, g_cb = torch.autograd.grad(vq_loss, [z_e, weight], allow_unused=True)
    expect(not _is_zero(g_cb), "the codebook term sends no gradient to the codebook: "
           "||sg[z_e] - e||^2 must keep e (the codebook rows) in the graph.")
    expect(not _is_zero(g_ze), "the commitment term sends no gradient to the encoder: "
           "||z_e - sg[e]||^2 must keep z_e in the graph.")
    book, z = _CODEBOOK.clone().requires_grad_(), z_e_data.clone().requires_grad_()
    codes = book[target].permute(0, 3, 1, 2)  # [B, D, H, W]
    oracle = (codes - z.detach()).pow(2).mean() + _BETA * (z - codes.detach()).pow(2).mean()
    want_cb, want_ze = torch.autograd.grad(oracle, [book, z])
    got = (torch.zeros_like(weight) if g_cb is None else g_cb,
           torch.zeros_like(z_e) if g_ze is None else g_ze)
    reject_slips(got, {
        "missing stop-gradients: both terms move both sides. Detach z_e in the codebook term, "
        "mse(z_q, z_e.detach()), and the code in the commitment term, mse(z_e, z_q.detach()).":
            ((1 + _BETA) * want_cb, (1 + _BETA) / _BETA * want_ze),
        "beta is on the wrong term: commitment_cost multiplies the codebook term; it belongs "
        "to the commitment term ||z_e - sg[e]||^2, which moves the encoder (or the two "
        "stop-gradients are swapped).": (_BETA * want_cb, want_ze / _BETA),
        f"the commitment term uses 0.25 although this quantizer was built with "
        f"commitment_cost={_BETA}: use self.commitment_cost.": (want_cb, 0.25 / _BETA * want_ze),
    }, want=(want_cb, want_ze), same=lambda a, b: close(a[0], b[0]) and close(a[1], b[1]))
    expect(close(got[0], want_cb, 1e-5), "the codebook term sends the wrong gradient to the "
           "codebook: it should be the mean of ||sg[z_e] - e||^2, z_e detached.")
    expect(close(got[1], want_ze, 1e-5), "the commitment term sends the wrong gradient to the "
           "encoder: it should be commitment_cost * mean of ||z_e - sg[e]||^2, e detached.")


@public_check("VectorQuantizer", reference=vq.VectorQuantizer)
@keeps_rng
def check_vector_quantizer(cls) -> None:
    """A [2, 3, 3, 4] map with a known token grid: shapes, indices, values, loss, gradients."""
    quantizer = attempt(cls, _K, _D, commitment_cost=_BETA)
    book = getattr(quantizer, "codebook", None)
    if book is None:
        raise NotAttempted("the quantizer has no .codebook yet (write __init__).")
    expect(isinstance(book, nn.Embedding) and tuple(book.weight.shape) == (_K, _D), ".codebook "
           f"should be an nn.Embedding(K, D), its weight [{_K}, {_D}], got {book!r}.")
    with torch.no_grad():
        book.weight.copy_(_CODEBOOK)
    b, h, w = torch.meshgrid(torch.arange(_B), torch.arange(_H), torch.arange(_W), indexing="ij")
    target = (h + 2 * w + 3 * b * (h == 0)) % _K  # [B, H, W] nearest codes, rows differ
    z_e = _CODEBOOK[target] + 0.08 * torch.randn(_B, _H, _W, _D,
                                                 generator=torch.Generator().manual_seed(11))
    z_e = z_e.permute(0, 3, 1, 2).contiguous()  # [B, D, H, W]
    z_q, indices, vq_loss, perplexity = expect_tuple(attempt(quantizer, z_e), _OUTPUTS,
                                                     "forward should return")
    _check_values(z_q, indices, z_e, target)
    _check_loss_and_perplexity(vq_loss, perplexity, target, z_e)
    z_e_leaf = z_e.clone().requires_grad_()
    z_q = expect_tuple(attempt(quantizer, z_e_leaf), _OUTPUTS, "forward should return")[0]
    _straight_through(z_q, z_e_leaf, quantizer.codebook.weight,
                      torch.randn(z_e.shape, generator=torch.Generator().manual_seed(3)), "z_q")
    _check_vq_loss_gradients(quantizer, z_e, target)
    expect(close(quantizer.codebook.weight.detach(), _CODEBOOK),
           "forward should not change the codebook in place (the optimizer moves it).")


def _ask(fn, loss, groups, want: dict, situation: str) -> dict:
    """The learner's {group name: bool} for `loss`, with autograd's errors explained."""
    try:
        got = attempt(fn, loss, groups)
    except RuntimeError as err:
        if "second time" in str(err) or "freed" in str(err):
            fail("the graph was freed by an earlier backward(): use torch.autograd.grad(loss, "
                 "params, retain_graph=True, allow_unused=True).")
        if "does not require grad" in str(err):
            fail(f"{situation}: autograd raised '{err}'. A loss that does not require grad "
                 "reaches no parameter (answer False); use allow_unused=True.")
        raise
    expect(isinstance(got, dict) and set(got) == set(want), f"return a dict with the keys "
           f"{sorted(want)} (group name: bool), got {got!r}.")
    for name, value in got.items():
        expect(isinstance(value, bool), f"answer with Python bools (True/False), got "
               f"{type(value).__name__} for {name!r}: wrap with bool(...).")
    return got


@public_check("sends_gradient", reference=gradient_flow.sends_gradient)
@keeps_rng
def check_sends_gradient(fn) -> None:
    """Two layers, a shared graph, a zero gradient and a fully detached loss."""
    gen = torch.Generator().manual_seed(2)
    a, b, spare = nn.Linear(3, 3), nn.Linear(3, 1), nn.Parameter(torch.ones(2))
    with torch.no_grad():
        for p in [*a.parameters(), *b.parameters()]:
            p.copy_(torch.randn(p.shape, generator=gen))
    x = torch.randn(4, 3, generator=gen)
    h = a(x)  # [4, 3], shared by the first and third loss
    groups = {"a": list(a.parameters()), "b": list(b.parameters()), "spare": [spare]}
    cases = [  # (loss, its groups, the groups it moves, (group, message) naming a slip)
        ("a(x)**2 summed", lambda: h.pow(2).sum(), groups, {"a"}, None),
        ("b(h.detach())", lambda: b(h.detach()).sum(), groups, {"b"}, ("a", "group 'a' was "
         "reported as moved by b(h.detach()), which cannot reach it: gradients from an "
         "earlier call leaked in (p.grad accumulates); use torch.autograd.grad instead.")),
        ("b(a(x))", lambda: b(h).sum(), groups, {"a", "b"}, None),
        ("0 * a(x).sum() + spare.sum()", lambda: 0.0 * a(x).sum() + spare.sum(), groups,
         {"spare"}, ("a", "a group whose gradient is exactly zero is not moved: test the "
                     "values (grad != 0), not only whether autograd returned a tensor.")),
        ("a(x) with the group [b.weight, a.weight]", lambda: a(x).sum(),
         {"mixed": [b.weight, a.weight]}, {"mixed"}, ("mixed", "a group counts as moved when "
         "ANY of its parameters gets a non-zero gradient (here a.weight, not b.weight).")),
        ("a detached loss", lambda: a(x).sum().detach(), groups, set(), None),
    ]
    for situation, loss, case_groups, moved, slip in cases:
        want = {name: name in moved for name in case_groups}
        got = _ask(fn, loss(), case_groups, want, situation)
        if slip is not None:
            expect(got[slip[0]] == want[slip[0]], slip[1])
        expect(got == want, f"loss = {situation} moves {sorted(moved) or 'nothing'}, got {got}.")

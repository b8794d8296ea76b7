"""lessonlib.quantizers.vq, core.gradient_flow, tokenizers.conv and their checks.

Oracles: torch.cdist + brute force for the nearest code, autograd for every gradient
claim, numpy for the entropy, explicit index arithmetic for the reshapes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lessonlib.checks.quantizers.vq import (
    check_sends_gradient,
    check_vector_quantizer,
    check_vq_straight_through,
)
from lessonlib.core.gradient_flow import sends_gradient
from lessonlib.core.information import code_perplexity
from lessonlib.quantizers.common import from_rows, to_rows
from lessonlib.quantizers.vq import VectorQuantizer, nearest_code, vq_straight_through
from lessonlib.tokenizers.conv import QuantizedAutoencoder, TokenDecoder, TokenEncoder


def _codebook(k: int, d: int, seed: int) -> torch.Tensor:
    """Codes of very different lengths, so a dot product would disagree with the distance."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(k, d, generator=gen) * torch.rand(k, 1, generator=gen) * 3


# ----------------------------------------------------------------------------- nearest_code


@pytest.mark.parametrize("n,d,k", [(1, 1, 2), (50, 2, 12), (200, 16, 64), (7, 3, 1)])
def test_nearest_code_matches_cdist_and_brute_force(n, d, k):
    codebook = _codebook(k, d, seed=n + d + k)
    z = torch.randn(n, d, generator=torch.Generator().manual_seed(1)) * 2
    got = nearest_code(z, codebook)
    assert got.shape == (n,) and got.dtype == torch.long
    assert torch.equal(got, torch.cdist(z.double(), codebook.double()).argmin(dim=1))
    brute = [min(range(k), key=lambda j, i=i: float(((z[i] - codebook[j]) ** 2).sum()))
             for i in range(n)]
    assert got.tolist() == brute


def test_nearest_code_is_not_the_dot_product():
    codebook = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    z = torch.tensor([[0.5, 0.0]])  # nearer to the short code, larger dot with the long one
    assert nearest_code(z, codebook).item() == 0
    assert (z @ codebook.t()).argmax().item() == 1


# ----------------------------------------------------------------------------- STE


def test_vq_straight_through_seed_example():
    z_e = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    codebook = torch.tensor([[0.9, 0.1], [0.1, 0.9], [-0.5, -0.5]])
    z_q, idx = vq_straight_through(z_e, codebook)
    assert idx.tolist() == [0, 1]
    assert torch.allclose(z_q, codebook[:2], atol=1e-6)
    assert z_q.requires_grad
    # the seed's version of the example (no requires_grad anywhere) cannot require grad
    z_q_plain, _ = vq_straight_through(z_e.detach(), codebook)
    assert not z_q_plain.requires_grad


def test_ste_gradient_equals_gradient_at_z_q():
    """dL/dz_e == dL/dz_q for a nonlinear downstream loss; the codebook gets nothing."""
    codebook = _codebook(6, 4, seed=3).requires_grad_()
    z_e = torch.randn(20, 4, generator=torch.Generator().manual_seed(4)).requires_grad_()
    z_q, idx = vq_straight_through(z_e, codebook)
    w = torch.randn(20, 4, generator=torch.Generator().manual_seed(5))
    loss = (w * torch.sin(z_q)).sum()
    g_zq, g_ze, g_cb = torch.autograd.grad(loss, [z_q, z_e, codebook], allow_unused=True)
    assert torch.equal(g_ze, g_zq)
    assert torch.allclose(g_ze, w * torch.cos(codebook.detach()[idx]), atol=1e-6)
    assert g_cb is None


# ----------------------------------------------------------------------------- perplexity


def test_perplexity_extremes_and_numpy_oracle():
    assert code_perplexity(torch.zeros(30, dtype=torch.long), 8).item() == pytest.approx(1.0)
    assert code_perplexity(torch.arange(8).repeat(5), 8).item() == pytest.approx(8.0, rel=1e-6)
    idx = torch.randint(0, 10, (4, 7, 7), generator=torch.Generator().manual_seed(0))
    counts = np.bincount(idx.numpy().ravel(), minlength=10)
    p = counts[counts > 0] / counts.sum()
    assert code_perplexity(idx, 10).item() == pytest.approx(math.exp(-(p * np.log(p)).sum()),
                                                          rel=1e-5)


# ----------------------------------------------------------------------------- reshapes


def test_to_rows_order_and_round_trip():
    z = torch.randn(2, 3, 4, 5)
    rows = to_rows(z)
    assert rows.shape == (2 * 4 * 5, 3)
    for b, h, w in [(0, 0, 0), (0, 2, 3), (1, 3, 4), (1, 0, 1)]:
        assert torch.equal(rows[b * 20 + h * 5 + w], z[b, :, h, w])
    assert torch.equal(from_rows(rows, z.shape), z)
    assert from_rows(rows, z.shape).is_contiguous()


# ----------------------------------------------------------------------------- VectorQuantizer


def test_vector_quantizer_contract_and_values():
    k, d = 16, 8
    vq = VectorQuantizer(k, d)
    assert isinstance(vq.codebook, nn.Embedding) and vq.codebook.weight.shape == (k, d)
    assert vq.codebook.weight.abs().max() <= 1.0 / k
    assert vq.commitment_cost == 0.25
    with torch.no_grad():
        vq.codebook.weight.copy_(_codebook(k, d, seed=9))
    z_e = torch.randn(3, d, 5, 6, generator=torch.Generator().manual_seed(2))
    z_q, idx, loss, perp = vq(z_e)
    assert z_q.shape == z_e.shape and idx.shape == (3, 5, 6) and idx.dtype == torch.long
    cb = vq.codebook.weight.detach()
    for b, h, w in [(0, 0, 0), (1, 4, 5), (2, 2, 3)]:
        dists = ((z_e[b, :, h, w] - cb) ** 2).sum(1)
        assert idx[b, h, w].item() == int(dists.argmin())
        assert torch.allclose(z_q[b, :, h, w], cb[idx[b, h, w]], atol=1e-6)
    mse = (z_q.detach() - z_e).pow(2).mean()
    assert loss.item() == pytest.approx(1.25 * mse.item(), rel=1e-5)
    assert perp.item() == pytest.approx(code_perplexity(idx, k).item())


def test_vector_quantizer_gradients_follow_the_table():
    """Decoder gradient -> encoder only (STE); codebook term -> codebook; commitment -> z_e."""
    k, d, beta = 8, 4, 0.4
    vq = VectorQuantizer(k, d, commitment_cost=beta)
    with torch.no_grad():
        vq.codebook.weight.copy_(_codebook(k, d, seed=1))
    z_e = torch.randn(2, d, 3, 3, generator=torch.Generator().manual_seed(6)).requires_grad_()
    z_q, idx, loss, _ = vq(z_e)
    upstream = torch.randn(z_q.shape)
    g_ze, g_cb = torch.autograd.grad((z_q * upstream).sum(), [z_e, vq.codebook.weight],
                                     allow_unused=True, retain_graph=True)
    assert torch.equal(g_ze, upstream) and g_cb is None
    g_ze, g_cb = torch.autograd.grad(loss, [z_e, vq.codebook.weight])
    n = z_e.numel()
    target = vq.codebook.weight.detach()[idx].permute(0, 3, 1, 2)  # [B, D, H, W]
    assert torch.allclose(g_ze, beta * 2 * (z_e.detach() - target) / n, atol=1e-7)
    rows = to_rows(target) - to_rows(z_e.detach())
    want = torch.zeros(k, d).index_add_(0, idx.reshape(-1), 2 * rows / n)
    assert torch.allclose(g_cb, want, atol=1e-7)


# ----------------------------------------------------------------------------- conv tokenizer


def test_token_encoder_decoder_shapes():
    x = torch.rand(3, 1, 28, 28)
    z_e = TokenEncoder(16, width=8)(x)
    assert z_e.shape == (3, 16, 7, 7)
    assert TokenDecoder(16, width=8)(z_e).shape == (3, 1, 28, 28)


def test_quantized_autoencoder_wires_the_quantizer():
    torch.manual_seed(0)
    model = QuantizedAutoencoder(VectorQuantizer(32, 4), embedding_dim=4, width=8)
    x = torch.rand(2, 1, 28, 28)
    seen = {}
    model.decoder.register_forward_pre_hook(lambda mod, args: seen.setdefault("z", args[0]))
    logits, z_e, z_q, idx, aux, perp = model(x)
    assert logits.shape == x.shape and z_e.shape == (2, 4, 7, 7) and idx.shape == (2, 7, 7)
    cb = model.quantizer.codebook.weight.detach()
    assert torch.allclose(seen["z"].detach(), cb[idx].permute(0, 3, 1, 2), atol=1e-6)
    tokens = model.tokenize(x)
    assert torch.equal(tokens, idx) and not tokens.requires_grad
    groups = {"encoder": list(model.encoder.parameters()),
              "codebook": list(model.quantizer.parameters()),
              "decoder": list(model.decoder.parameters())}
    recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, x)
    assert sends_gradient(recon, groups) == {"encoder": True, "codebook": False,
                                             "decoder": True}
    assert sends_gradient(aux, groups) == {"encoder": True, "codebook": True, "decoder": False}


# ----------------------------------------------------------------------------- sends_gradient


def test_sends_gradient_leaves_grad_alone_and_handles_detached_losses():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    x = torch.randn(5, 2)
    h = a(x)
    groups = {"a": list(a.parameters()), "b": list(b.parameters())}
    assert sends_gradient(h.sum(), groups) == {"a": True, "b": False}
    assert sends_gradient(b(h).sum(), groups) == {"a": True, "b": True}  # graph kept
    assert sends_gradient(b(h.detach()).sum(), groups) == {"a": False, "b": True}
    assert sends_gradient(h.sum().detach(), groups) == {"a": False, "b": False}
    assert sends_gradient(0 * h.sum(), groups) == {"a": False, "b": False}
    assert all(p.grad is None for p in [*a.parameters(), *b.parameters()])
    frozen = nn.Parameter(torch.ones(2), requires_grad=False)
    assert sends_gradient(h.sum(), {"frozen": [frozen]}) == {"frozen": False}


# ----------------------------------------------------------------------------- public checks


def test_references_pass_their_checks():
    assert check_vq_straight_through.run(vq_straight_through).passed
    assert check_vector_quantizer.run(VectorQuantizer).passed
    assert check_sends_gradient.run(sends_gradient).passed


def test_stubs_are_not_attempted():
    def stub(*args):
        """docstring only"""

    class StubQuantizer(VectorQuantizer):
        def forward(self, z_e):
            ...

    assert check_vq_straight_through.run(stub).status == "not attempted"
    assert check_sends_gradient.run(stub).status == "not attempted"
    assert check_vector_quantizer.run(StubQuantizer).status == "not attempted"


def test_check_catches_a_hard_coded_commitment_cost():
    class Fixed(VectorQuantizer):
        def forward(self, z_e):
            self.commitment_cost = 0.25
            return super().forward(z_e)

    result = check_vector_quantizer.run(Fixed)
    assert result.status == "wrong" and "commitment_cost" in result.message

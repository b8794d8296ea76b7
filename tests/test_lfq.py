"""lessonlib.quantizers.lfq and lessonlib.checks.quantizers.lfq.

Oracles: itertools.product for the codebook, per-bit Bernoulli entropies for the
per-sample entropy (the softmax over {-1,+1}^d factorizes over bits), a float64 Python
loop for the codebook entropy, autograd for the straight-through gradient.
"""

from __future__ import annotations

import itertools
import math
import re

import torch

from lessonlib.checks.quantizers.lfq import check_lfq_entropy_terms, check_lfq_quantize
from lessonlib.quantizers.fsq import fsq_quantize
from lessonlib.quantizers.lfq import (
    LFQ,
    lfq_codebook,
    lfq_codes_to_indices,
    lfq_entropy_terms,
    lfq_indices_to_codes,
    lfq_quantize,
)
from lessonlib.tokenizers.conv import QuantizedAutoencoder


def test_codebook_order_and_size():
    codes = lfq_codebook(3)
    assert codes.shape == (8, 3)
    assert codes[0].tolist() == [-1, -1, -1] and codes[1].tolist() == [1, -1, -1]
    assert codes[6].tolist() == [-1, 1, 1]
    assert len({tuple(r) for r in codes.tolist()}) == 8
    # the chapter's d = 18 example, never enumerated: 2**18 codes, indices 0 .. 262_143
    assert LFQ(18).num_codes == 262_144
    assert lfq_codes_to_indices(torch.ones(1, 18)).tolist() == [262_143]


def test_sign_with_zero_as_plus_one_and_identity_gradient():
    z = torch.tensor([[-2.0, 0.0, 3.0, -0.0]]).reshape(1, 4).requires_grad_(True)
    z_hat, idx = lfq_quantize(z)
    assert z_hat.tolist() == [[-1.0, 1.0, 1.0, 1.0]]
    assert idx.tolist() == [2 + 4 + 8]
    w = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    (z_hat * w).sum().backward()
    assert torch.equal(z.grad, w)


def test_indices_round_trip_and_match_fsq_with_two_levels():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(4, 6, 3, 3, generator=gen)
    z_hat, idx = lfq_quantize(z)
    assert idx.shape == (4, 3, 3) and idx.dtype == torch.int64
    assert torch.equal(lfq_indices_to_codes(idx, 6), z_hat.detach())
    assert torch.equal(lfq_codes_to_indices(z_hat.detach()), idx)
    _, fsq_idx = fsq_quantize(z, (2,) * 6)
    assert torch.equal(fsq_idx, idx), "LFQ's index is FSQ's mixed radix with every L = 2"
    every = torch.arange(2 ** 6)
    assert torch.equal(lfq_codes_to_indices(lfq_indices_to_codes(every, 6)), every)


def _bernoulli_entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * p.log() + (1 - p) * (1 - p).log())


def test_entropy_terms_against_independent_oracles():
    gen = torch.Generator().manual_seed(1)
    for tau in (0.5, 1.0, 3.0, 100.0):
        z = torch.randn(10, 3, generator=gen, dtype=torch.float64) * (0.3 if tau < 50 else 0.005)
        per, cb = lfq_entropy_terms(z, tau)
        # per-sample: p_i(c) = prod_j sigmoid(4 tau z_ij c_j ... ) factorizes over bits
        p_plus = torch.sigmoid(4 * tau * z)  # P(bit j = +1 | z_i)
        assert math.isclose(float(per), float(_bernoulli_entropy(p_plus).sum(1).mean()),
                            rel_tol=1e-6)
        # codebook: explicit loops over the codes
        codes = list(itertools.product([-1.0, 1.0], repeat=3))
        mean_p = [0.0] * len(codes)
        for row in z.tolist():
            logits = [2 * tau * sum(a * b for a, b in zip(row, c)) for c in codes]
            top = max(logits)
            w = [math.exp(v - top) for v in logits]
            for k, v in enumerate(w):
                mean_p[k] += v / sum(w) / len(z)
        h = -sum(p * math.log(p) for p in mean_p if p > 0)
        assert math.isclose(float(cb), h, rel_tol=1e-6, abs_tol=1e-9)
        assert float(cb) >= float(per) - 1e-9, "H(mean p) >= mean H(p) (concavity)"
    assert math.isclose(lfq_entropy_terms(torch.zeros(4, 2))[0].item(), math.log(4), rel_tol=1e-6)


def test_entropy_terms_extremes_and_gradient():
    confident_same = torch.full((6, 3), 5.0)
    per, cb = lfq_entropy_terms(confident_same, 10.0)
    assert float(per) < 1e-6 and float(cb) < 1e-6
    spread = lfq_codebook(3) * 5.0  # one sample on each code, confidently
    per, cb = lfq_entropy_terms(spread, 10.0)
    assert float(per) < 1e-6 and math.isclose(float(cb), math.log(8), rel_tol=1e-6)
    z = torch.randn(8, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: lfq_entropy_terms(t, 1.5), (z,))


def test_lfq_module_follows_the_quantizer_convention():
    lfq = LFQ(10, entropy_weight=0.1, inv_temperature=1.0, commitment_cost=0.25)
    assert lfq.num_codes == 1024 and sum(p.numel() for p in lfq.parameters()) == 0
    z_e = torch.randn(2, 10, 7, 7, requires_grad=True)
    z_q, idx, aux, perplexity = lfq(z_e)
    assert z_q.shape == z_e.shape and idx.shape == (2, 7, 7)
    per, cb = lfq_entropy_terms(z_e.detach().permute(0, 2, 3, 1).reshape(-1, 10), 1.0)
    commit = (z_e.detach() - z_q.detach()).pow(2).mean()
    assert math.isclose(float(aux.detach()), float(0.1 * (per - cb) + 0.25 * commit), rel_tol=1e-5)
    aux.backward()
    assert z_e.grad.abs().sum() > 0
    plain = LFQ(10, entropy_weight=0.0)
    assert float(plain(z_e)[2]) == 0.0
    lfq.eval()
    assert math.isclose(float(lfq(z_e)[2].detach()), float(0.25 * commit), rel_tol=1e-5)
    model = QuantizedAutoencoder(LFQ(10), 10, width=8)
    assert model(torch.rand(2, 1, 28, 28))[0].shape == (2, 1, 28, 28)


def test_row_sampling_bounds_the_entropy_cost():
    lfq = LFQ(4, entropy_weight=1.0, entropy_rows=5, seed=0)
    z_e = torch.randn(2, 4, 3, 3)
    _, _, aux_a, _ = lfq(z_e)
    _, _, aux_b, _ = LFQ(4, entropy_weight=1.0, entropy_rows=5, seed=0)(z_e)
    assert torch.equal(aux_a, aux_b), "the row sample is reproducible"
    full = LFQ(4, entropy_weight=1.0)(z_e)[2]
    assert not torch.equal(aux_a, full)


def test_public_checks_pass_the_reference():
    for check, fn in [(check_lfq_quantize, lfq_quantize),
                      (check_lfq_entropy_terms, lfq_entropy_terms)]:
        assert check.run(fn).passed, check.run(fn)


def test_public_checks_name_mistakes():
    def sign_zero(z):
        q = torch.sign(z)
        return z + (q - z).detach(), lfq_codes_to_indices(q)

    assert "sign(0)" in check_lfq_quantize.run(sign_zero).message

    def flipped(z, inv_temperature=100.0):
        per, cb = lfq_entropy_terms(z, inv_temperature)
        return -per, -cb

    assert "-H" in check_lfq_entropy_terms.run(flipped).message

    def swapped(z, inv_temperature=100.0):
        per, cb = lfq_entropy_terms(z, inv_temperature)
        return cb, per

    assert "swapped" in check_lfq_entropy_terms.run(swapped).message
    assert check_lfq_quantize.run(lambda z: None).status == "not attempted"


def _bit_codes(z, inv_temperature=100.0):
    """Enumerates the codes as bits {0, 1}^d instead of {-1, +1}^d."""
    d = z.shape[1]
    codes = ((torch.arange(2 ** d).unsqueeze(1) >> torch.arange(d)) & 1).to(z.dtype)
    p = torch.softmax(2 * inv_temperature * z @ codes.t(), dim=1)
    mean_p = p.mean(0)
    return -(p * p.log()).sum(1).mean(), -(mean_p * mean_p.log()).sum()


def _softmax_over_samples(z, inv_temperature=100.0):
    """Softmax over the batch instead of over the codes."""
    codes = lfq_codebook(z.shape[1]).to(z.dtype)
    p = torch.softmax(2 * inv_temperature * z @ codes.t(), dim=0)
    mean_p = p.mean(0)
    return -(p * p.log()).sum(1).mean(), -(mean_p * mean_p.log()).sum()


def _sum_not_mean(z, inv_temperature=100.0):
    per, cb = lfq_entropy_terms(z, inv_temperature)
    return per * z.shape[0], cb


def test_entropy_check_names_more_mistakes():
    for fn, pattern in [(_bit_codes, r"bits \{0, 1\}"), (_softmax_over_samples, "softmax over"),
                        (_sum_not_mean, "not the sum")]:
        result = check_lfq_entropy_terms.run(fn)
        assert result.status == "wrong" and re.search(pattern, result.message), result.message

"""Public checks for lookup-free quantization: lfq_quantize, lfq_entropy_terms."""

from __future__ import annotations

import math

import torch

from lessonlib.checks.core import attempt, close, expect, expect_tuple, public_check, reject_slips
from lessonlib.checks.quantizers.fsq import position_indices, quantized_pair
from lessonlib.core.information import entropy
from lessonlib.quantizers import lfq as ref


def _bits_index(bits: torch.Tensor, msb_first: bool = False) -> torch.Tensor:
    """Bits [B, d, ...] (0/1, or any values) -> sum_i bits_i 2^i: [B, ...]."""
    d = bits.shape[1]
    powers = [2 ** (d - 1 - i) if msb_first else 2 ** i for i in range(d)]
    return (bits.long() * torch.tensor(powers).view((1, -1) + (1,) * (bits.dim() - 2))).sum(1)


@public_check("lfq_quantize", reference=ref.lfq_quantize)
def check_lfq_quantize(fn) -> None:
    """Signs with sign(0) = +1, the bit order of the indices, any rank, straight-through."""
    z = torch.randn(3, 4, 2, 3, generator=torch.Generator().manual_seed(7))
    z[0, :, 0, 0] = 0.0  # a whole position of zeros: code +1 +1 +1 +1, index 15
    z[1, 2, 1, 2], z[2, 0, 0, 1] = 0.0, -1e-4
    z_hat, idx = quantized_pair(fn, z)
    values, signs = z_hat.detach().float(), torch.where(z >= 0, 1.0, -1.0)
    vals = set(torch.unique(values).tolist())
    expect(not vals <= {0.0, 1.0} or vals == {1.0},
           "the codes are -1 and +1, not bits 0 and 1: z_hat = 2 * bit - 1.")
    expect(0.0 not in vals, "some z_hat are 0: torch.sign(0) is 0, but LFQ maps z = 0 to +1 "
           "(use torch.where(z >= 0, 1.0, -1.0)).")
    expect(vals <= {-1.0, 1.0}, f"z_hat should hold -1 and +1 only, got {sorted(vals)[:4]}.")
    expect(bool((values[z == 0] == 1).all()), "z = 0 must map to +1 (sign(0) = +1), not -1: "
           "use z >= 0, not z > 0.")
    expect(torch.equal(values, signs), "z_hat should be +1 where z >= 0 and -1 where z < 0.")
    bits, idx = (signs > 0).long(), position_indices(idx, z)
    reject_slips(idx, {
        "bit 0 is the least significant (index = sum_i bit_i 2^i); yours puts dim 0 first.":
            _bits_index(bits, msb_first=True),
        "z = 0 counts as +1, so its bit is 1: take the bits from z_hat (or z >= 0), not z > 0.":
            _bits_index((z > 0).long()),
        "combine bits 0/1 (bit = 1 where z_hat = +1), not the values -1/+1.":
            _bits_index(signs.long()),
    }, want=_bits_index(bits), same=torch.equal)
    expect(torch.equal(idx, _bits_index(bits)), "wrong indices: index = sum_i [z_hat_i = +1] "
           "* 2^i, dim 0 the least significant bit.")
    for shape in ((6, 5), (2, 3, 4)):  # the channel dim is dim 1 whatever the rank
        zs = torch.linspace(-1, 1, math.prod(shape)).reshape(shape)
        expect(torch.equal(position_indices(quantized_pair(fn, zs)[1], zs),
                           _bits_index((zs >= 0).long())),
               f"wrong indices for z of shape {list(shape)}: the channel dim is dim 1.")
    zg = (z * 0.7).requires_grad_(True)
    z_hat = quantized_pair(fn, zg)[0]
    expect(z_hat.requires_grad, "z_hat carries no gradient: add the straight-through, "
           "z + (q - z).detach().")
    w = torch.linspace(-1, 2, zg.numel()).reshape(zg.shape)
    (z_hat * w).sum().backward()
    expect(zg.grad is not None and not torch.allclose(zg.grad, torch.zeros_like(zg.grad)),
           "the gradient is zero: sign has zero derivative; use z + (q - z).detach().")
    expect(torch.allclose(zg.grad, w, atol=1e-5), "the straight-through should copy the "
           "gradient unchanged (dz_hat/dz = 1): use z + (q - z).detach().")


def _terms(z, tau, factor=2.0, axis=1, log_base=math.e, per_sample_sum=False):
    """The two entropies with one ingredient changed (for naming slips), as floats."""
    codes = ref.lfq_codebook(z.shape[1]).double()  # [K, d]
    p = (factor * tau * z.double() @ codes.t()).softmax(dim=axis)  # [N, K]
    per = entropy(p).sum() if per_sample_sum else entropy(p).mean()
    return float(per) / math.log(log_base), float(entropy(p.mean(0))) / math.log(log_base)


def _entropy_pair(fn, *args):
    """The learner's (per_sample_entropy, codebook_entropy): two one-number tensors."""
    out = expect_tuple(attempt(fn, *args), "per_sample_entropy, codebook_entropy")
    for name, value in zip(("per_sample_entropy", "codebook_entropy"), out):
        expect(isinstance(value, torch.Tensor) and value.numel() == 1, f"{name} should be a "
               "one-number tensor (so that the loss can backpropagate): average over samples, "
               "sum over codes.")
    return out


@public_check("lfq_entropy_terms", reference=ref.lfq_entropy_terms)
def check_lfq_entropy_terms(fn) -> None:
    """Values at two temperatures and the default (the classic slips named), and gradients."""
    z = torch.randn(24, 4, generator=torch.Generator().manual_seed(3)) * 0.3  # [N, d]
    for tau in (1.0, 2.5):  # both entropies, the classic slips named
        got = tuple(float(v) for v in _entropy_pair(fn, z.clone(), tau))
        want = _terms(z, tau)
        reject_slips(got, {
            "the entropies came out negative: you returned -H. H = -sum p log p >= 0 (the minus "
            "of the loss goes in per_sample - codebook).": (-want[0], -want[1]),
            "swapped: first the mean of the per-sample entropies H(p_i), then the entropy of the "
            "mean distribution H(mean_i p_i).": (want[1], want[0]),
            "use log base e (nats), not log2.": _terms(z, tau, log_base=2.0),
            "your logits are half of 2 * inv_temperature * z C^T (from -inv_temperature * "
            "||z - c||^2, c in {-1, +1}^d): you dropped the factor 2, or used bits {0, 1} as "
            "codes.": _terms(z, tau, factor=1.0),
            "the logits are 2 * inv_temperature * z C^T: you left out inv_temperature.":
                _terms(z, 1.0),
            "you ignored the inv_temperature argument (the default is only a default).":
                _terms(z, 100.0),
            "softmax over the 2^d codes (dim 1) for each sample, not over the samples.":
                _terms(z, tau, axis=0),
            "per_sample_entropy is the mean over samples of H(p_i), not the sum.":
                _terms(z, tau, per_sample_sum=True),
        }, want=want, same=lambda a, b: close(a[0], b[0], 1e-4) and close(a[1], b[1], 1e-4))
        for name, g, w in zip(("per_sample_entropy", "codebook_entropy"), got, want):
            expect(close(g, w, 1e-4), f"inv_temperature {tau}: {name} should be {w:.4f}, got "
                   f"{g:.4f}.")
    got, want = _entropy_pair(fn, 0.02 * z), _terms(0.02 * z, 100.0)
    expect(close(float(got[0]), want[0], 1e-4) and close(float(got[1]), want[1], 1e-4),
           "with the default inv_temperature the values are wrong: make it 100.0.")
    grads = []
    for entropy_terms in (fn, ref.lfq_entropy_terms):
        zg = z.clone().requires_grad_(True)
        per, cb = _entropy_pair(entropy_terms, zg, 1.0)
        expect(per.requires_grad and cb.requires_grad, "the entropies carry no gradient: no "
               ".detach(), .item() or numpy inside, so that the entropy loss trains the encoder.")
        (per - cb).backward()
        grads.append(zg.grad)
    expect(grads[0] is not None and torch.allclose(grads[0], grads[1], atol=1e-4),
           "the values are right but the gradient is not: keep every step differentiable.")

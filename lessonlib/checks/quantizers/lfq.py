"""Public checks for lookup-free quantization (lessonlib.quantizers.lfq).

lfq_quantize, lfq_entropy_terms. The probes use small hand-made inputs (exact zeros
included), compare with the classic slips computed here to name the mistake, then with
an oracle; gradients are compared with autograd through lessonlib's reference.
"""

from __future__ import annotations

import math

import torch

from lessonlib.checks.core import (
    attempt,
    close,
    expect,
    expect_tensor,
    public_check,
    reject_slips,
)
from lessonlib.core.information import entropy
from lessonlib.quantizers import lfq as ref


def _probe_z() -> torch.Tensor:
    """[3, 4, 2, 3] with both signs, exact zeros and tiny values."""
    g = torch.Generator().manual_seed(7)
    z = torch.randn(3, 4, 2, 3, generator=g)
    z[0, :, 0, 0] = 0.0  # a whole position of zeros: code +1 +1 +1 +1, index 15
    z[1, 2, 1, 2] = 0.0
    z[2, 0, 0, 1] = -1e-4
    return z


def _bits_index(bits: torch.Tensor, msb_first: bool = False) -> torch.Tensor:
    """Bits [B, d, ...] (0/1, or any values) -> sum_i bits_i 2^i: [B, ...]."""
    d = bits.shape[1]
    powers = [2 ** (d - 1 - i) if msb_first else 2 ** i for i in range(d)]
    place = torch.tensor(powers).view((1, -1) + (1,) * (bits.dim() - 2))
    return (bits.long() * place).sum(1)


def _expect_pair(out, names: str = "(z_hat, indices)"):
    expect(isinstance(out, (tuple, list)) and len(out) == 2,
           f"return a pair {names}, got {type(out).__name__}.")
    return out


def _lfq_signs(z_hat, z) -> torch.Tensor:
    """z_hat is +1 where z >= 0 and -1 where z < 0 (zeros included)."""
    expect_tensor(z_hat, z.shape, "z_hat")
    values = z_hat.detach().float()
    want = torch.where(z >= 0, 1.0, -1.0)
    vals = set(torch.unique(values).tolist())
    expect(not vals <= {0.0, 1.0} or vals == {1.0},
           "the codes are -1 and +1, not bits 0 and 1: z_hat = 2 * bit - 1.")
    expect(0.0 not in vals, "some z_hat are 0: torch.sign(0) is 0, but LFQ maps z = 0 to +1 "
           "(use torch.where(z >= 0, 1.0, -1.0)).")
    expect(vals <= {-1.0, 1.0}, f"z_hat should only hold -1 and +1, got values like "
           f"{sorted(vals)[:4]}.")
    expect(bool((values[z == 0] == 1).all()),
           "z = 0 must map to +1 (sign(0) = +1): yours maps it to -1 (use z >= 0, not z > 0).")
    expect(torch.equal(values, want), "z_hat should be the sign of z (+1 where z >= 0, "
           "-1 where z < 0).")
    return want


def _lfq_indices(idx, z, signs) -> None:
    """The d bits of each position combined into one index, bit 0 the least significant."""
    expect(isinstance(idx, torch.Tensor), f"indices should be a torch.Tensor, got "
           f"{type(idx).__name__}.")
    expect(idx.shape != z.shape, "indices should have shape [B, H, W]: the d bits of a "
           "position combine into one index.")
    bits = (signs > 0).long()
    want = _bits_index(bits)  # [B, H, W]
    expect_tensor(idx, want.shape, "indices")
    expect(not idx.is_floating_point(), "indices must be integers (torch.long).")
    reject_slips(idx.long(), {
        "bit 0 is the least significant (index = sum_i bit_i 2^i); yours puts dim 0 first "
        "(most significant).": _bits_index(bits, msb_first=True),
        "z = 0 counts as +1, so its bit is 1: compute the bits from z_hat (or z >= 0), "
        "not from z > 0.": _bits_index((z > 0).long()),
        "combine bits 0/1 (bit = 1 where z_hat = +1), not the values -1/+1.":
            _bits_index(signs.long()),
    }, want=want, same=torch.equal)
    expect(torch.equal(idx.long(), want), "wrong indices: index = sum_i [z_hat_i = +1] * 2^i "
           "with dim 0 the least significant bit.")


def _lfq_shapes(fn) -> None:
    """z of shape [B, d] and [B, d, T]: the channel dim is dim 1."""
    for shape in ((6, 5), (2, 3, 4)):
        zs = torch.linspace(-1, 1, math.prod(shape)).reshape(shape)
        z_hat, idx = _expect_pair(attempt(fn, zs.clone()))
        expect_tensor(z_hat, shape, f"z_hat for z of shape {list(shape)}")
        expect_tensor(idx, (shape[0],) + shape[2:], f"indices for z of shape {list(shape)}")
        expect(torch.equal(idx.long(), _bits_index((zs >= 0).long())),
               f"wrong indices for z of shape {list(shape)}: the channel dim is dim 1.")


def _lfq_gradient(fn) -> None:
    """Straight-through: the gradient reaches z unchanged (dz_hat/dz = 1)."""
    zg = (_probe_z() * 0.7).requires_grad_(True)
    z_hat, _ = _expect_pair(attempt(fn, zg))
    expect(isinstance(z_hat, torch.Tensor) and z_hat.requires_grad,
           "z_hat carries no gradient: add the straight-through, z + (q - z).detach().")
    w = torch.linspace(-1, 2, zg.numel()).reshape(zg.shape)
    (z_hat * w).sum().backward()
    expect(zg.grad is not None and not torch.allclose(zg.grad, torch.zeros_like(zg.grad)),
           "the gradient is zero: sign has zero derivative; use the straight-through "
           "estimator z + (q - z).detach().")
    expect(torch.allclose(zg.grad, w, atol=1e-5),
           "the straight-through should copy the gradient unchanged (dz_hat/dz = 1): use "
           "z + (q - z).detach().")


@public_check("lfq_quantize", reference=ref.lfq_quantize)
def check_lfq_quantize(fn) -> None:
    """Signs with sign(0) = +1, bit order of the indices, shapes [B, d, H, W], [B, d] and
    [B, d, T], and the straight-through gradient."""
    z = _probe_z()
    z_hat, idx = _expect_pair(attempt(fn, z.clone()))
    _lfq_indices(idx, z, _lfq_signs(z_hat, z))
    _lfq_shapes(fn)
    _lfq_gradient(fn)


# ----------------------------------------------------------------------------- entropy terms


def _terms(z, tau, factor=2.0, axis=1, log_base=math.e, per_sample_sum=False):
    """The two entropies with one ingredient changed (for naming slips), as floats."""
    codes = ref.lfq_codebook(z.shape[1]).double()  # [K, d]
    p = (factor * tau * z.double() @ codes.t()).softmax(dim=axis)  # [N, K]
    per = entropy(p)
    per = per.sum() if per_sample_sum else per.mean()
    scale = math.log(log_base)
    return float(per) / scale, float(entropy(p.mean(0))) / scale


def _entropy_pair(fn, *args):
    """The learner's (per_sample_entropy, codebook_entropy): two one-number tensors."""
    out = _expect_pair(attempt(fn, *args), "(per_sample_entropy, codebook_entropy)")
    for name, value in zip(("per_sample_entropy", "codebook_entropy"), out):
        expect(isinstance(value, torch.Tensor),
               f"{name} should be a tensor (0-dim), got {type(value).__name__}: keep it a "
               "tensor so the loss can backpropagate.")
        expect(value.numel() == 1, f"{name} should be one number, got shape "
               f"{list(value.shape)}: average over samples / sum over codes.")
    return out


def _entropy_values(fn, z, tau: float) -> None:
    """Both entropies at one inverse temperature, the classic slips named."""
    got = tuple(float(v) for v in _entropy_pair(fn, z.clone(), tau))
    want = _terms(z, tau)
    reject_slips(got, {
        "the entropies came out negative: you returned -H. H = -sum p log p >= 0 (the minus "
        "sign of the loss goes in per_sample - codebook, not here).": (-want[0], -want[1]),
        "swapped: first the mean of the per-sample entropies H(p_i), then the entropy of the "
        "mean distribution H(mean_i p_i) (the larger of the two).": (want[1], want[0]),
        "use log base e (nats), not log2.": _terms(z, tau, log_base=2.0),
        "your logits are half as large as 2 * inv_temperature * z C^T (which comes from "
        "-inv_temperature * ||z - c||^2, codes c in {-1, +1}^d): you dropped the factor 2, "
        "or used bits {0, 1} as codes, which amounts to the same.": _terms(z, tau, factor=1.0),
        "the logits are 2 * inv_temperature * z C^T: you left out inv_temperature (or "
        "ignored the argument).": _terms(z, 1.0),
        "you ignored the inv_temperature argument (the default is only a default).":
            _terms(z, 100.0),
        "softmax over the 2^d codes (dim 1) for each sample, not over the samples.":
            _terms(z, tau, axis=0),
        "per_sample_entropy is the mean over samples of H(p_i), not the sum.":
            _terms(z, tau, per_sample_sum=True),
    }, want=want, same=lambda a, b: close(a[0], b[0], 1e-4) and close(a[1], b[1], 1e-4))
    expect(close(got[0], want[0], 1e-4), f"inv_temperature {tau}: per_sample_entropy should "
           f"be {want[0]:.4f}, got {got[0]:.4f}.")
    expect(close(got[1], want[1], 1e-4), f"inv_temperature {tau}: codebook_entropy should be "
           f"{want[1]:.4f}, got {got[1]:.4f}.")


def _entropy_default(fn, z) -> None:
    """Without the argument, inv_temperature is 100."""
    small = z * 0.02
    got = _entropy_pair(fn, small.clone())
    want = _terms(small, 100.0)
    expect(close(float(got[0]), want[0], 1e-4) and close(float(got[1]), want[1], 1e-4),
           "with the default inv_temperature (100) the values are wrong: make 100.0 the "
           "default of the argument.")


def _entropy_gradient(fn, z) -> None:
    """The gradient of per_sample - codebook with respect to z, against the reference's."""
    zg = z.clone().requires_grad_(True)
    per, cb = _entropy_pair(fn, zg, 1.0)
    expect(per.requires_grad and cb.requires_grad,
           "the entropies carry no gradient: no .detach(), .item() or numpy inside, so that "
           "the entropy loss can train the encoder.")
    (per - cb).backward()
    zr = z.clone().requires_grad_(True)
    per_r, cb_r = ref.lfq_entropy_terms(zr, 1.0)
    (per_r - cb_r).backward()
    expect(zg.grad is not None and torch.allclose(zg.grad, zr.grad, atol=1e-4),
           "the values are right but the gradient is not: keep every step differentiable "
           "(no in-place edits of p, no hard argmax).")


@public_check("lfq_entropy_terms", reference=ref.lfq_entropy_terms)
def check_lfq_entropy_terms(fn) -> None:
    """Values against the formula at two temperatures and the default, the classic slips
    (sign, swap, factor 2, temperature, log base, {0,1} codes, softmax axis), and gradients."""
    z = torch.randn(24, 4, generator=torch.Generator().manual_seed(3)) * 0.3  # [N, d]
    for tau in (1.0, 2.5):
        _entropy_values(fn, z, tau)
    _entropy_default(fn, z)
    _entropy_gradient(fn, z)

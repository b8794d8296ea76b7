"""Public checks for lookup-free quantization (lessonlib.quantizers.lfq).

lfq_quantize, lfq_entropy_terms. The probes use small hand-made inputs (exact zeros
included), compare with the classic slips computed here to name the mistake, then with
lessonlib's reference; gradients are compared with autograd through the reference.
"""

from __future__ import annotations

import math

import torch

from lessonlib.checks.core import attempt, close, expect, expect_tensor, public_check
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
    d = bits.shape[1]
    powers = [2 ** (d - 1 - i) if msb_first else 2 ** i for i in range(d)]
    place = torch.tensor(powers).view((1, -1) + (1,) * (bits.dim() - 2))
    return (bits.long() * place).sum(1)


@public_check("lfq_quantize", reference=ref.lfq_quantize)
def check_lfq_quantize(fn) -> None:
    """Signs with sign(0) = +1, straight-through gradient, bit order of the indices, and
    shapes [B, d, H, W], [B, d] and [B, d, T]."""
    z = _probe_z()
    out = attempt(fn, z.clone())
    expect(isinstance(out, (tuple, list)) and len(out) == 2,
           f"lfq_quantize should return a pair (z_hat, indices), got {type(out).__name__}.")
    z_hat, idx = out
    expect_tensor(z_hat, z.shape, "z_hat")
    values = z_hat.detach().float()
    want, want_idx = ref.lfq_quantize(z)
    vals = set(torch.unique(values).tolist())
    expect(not vals <= {0.0, 1.0} or vals == {1.0},
           "the codes are -1 and +1, not bits 0 and 1: z_hat = 2 * bit - 1.")
    expect(0.0 not in vals, "some z_hat are 0: torch.sign(0) is 0, but LFQ maps z = 0 to +1 "
           "(use torch.where(z >= 0, 1.0, -1.0)).")
    expect(vals <= {-1.0, 1.0}, f"z_hat should only hold -1 and +1, got values like "
           f"{sorted(vals)[:4]}.")
    zero = z == 0
    expect(bool((values[zero] == 1).all()),
           "z = 0 must map to +1 (sign(0) = +1): yours maps it to -1 (use z >= 0, not z > 0).")
    expect(torch.equal(values, want.detach()), "z_hat should be the sign of z (+1 where z >= 0, "
           "-1 where z < 0).")
    expect(isinstance(idx, torch.Tensor), f"indices should be a torch.Tensor, got "
           f"{type(idx).__name__}.")
    if idx.shape == z.shape:
        expect(False, "indices should have shape [B, H, W]: the d bits of a position combine "
               "into one index.")
    expect_tensor(idx, want_idx.shape, "indices")
    expect(not idx.is_floating_point(), "indices must be integers (torch.long).")
    idx = idx.long()
    if not torch.equal(idx, want_idx):
        bits = (want > 0).long()
        slips = {
            "bit 0 is the least significant (index = sum_i bit_i 2^i); yours puts dim 0 first "
            "(most significant)": _bits_index(bits, msb_first=True),
            "z = 0 counts as +1, so its bit is 1: compute the bits from z_hat (or z >= 0), "
            "not from z > 0": _bits_index((z > 0).long()),
            "combine bits 0/1 (bit = 1 where z_hat = +1), not the values -1/+1":
                _bits_index(want.long()),
        }
        for slip, wrong in slips.items():
            expect(not torch.equal(idx, wrong), slip + ".")
        expect(False, "wrong indices: index = sum_i [z_hat_i = +1] * 2^i with dim 0 the least "
               "significant bit.")
    for shape in ((6, 5), (2, 3, 4)):
        zs = torch.linspace(-1, 1, math.prod(shape)).reshape(shape)
        pair = attempt(fn, zs.clone())
        expect(isinstance(pair, (tuple, list)) and len(pair) == 2, "return (z_hat, indices).")
        expect_tensor(pair[0], shape, f"z_hat for z of shape {list(shape)}")
        expect_tensor(pair[1], (shape[0],) + shape[2:], f"indices for z of shape {list(shape)}")
        expect(torch.equal(pair[1].long(), ref.lfq_quantize(zs)[1]),
               f"wrong indices for z of shape {list(shape)}: the channel dim is dim 1.")
    zg = (_probe_z() * 0.7).requires_grad_(True)
    z_hat, _ = attempt(fn, zg)
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


def _terms(z, tau, factor=2.0, axis=1, log_base=math.e, per_sample_sum=False):
    """The two entropies with one ingredient changed (for naming slips)."""
    codes = ref.lfq_codebook(z.shape[1]).double()
    p = (factor * tau * z.double() @ codes.t()).softmax(dim=axis)  # [N, K]
    per = entropy(p)
    per = per.sum() if per_sample_sum else per.mean()
    cb = entropy(p.mean(0))
    scale = math.log(log_base)
    return per / scale, cb / scale


def _pair(out, what: str):
    expect(isinstance(out, (tuple, list)) and len(out) == 2,
           f"{what} should return a pair (per_sample_entropy, codebook_entropy), got "
           f"{type(out).__name__}.")
    for name, value in zip(("per_sample_entropy", "codebook_entropy"), out):
        expect(isinstance(value, torch.Tensor),
               f"{name} should be a tensor (0-dim), got {type(value).__name__}: keep it a "
               "tensor so the loss can backpropagate.")
        expect(value.numel() == 1, f"{name} should be one number, got shape "
               f"{list(value.shape)}: average over samples / sum over codes.")
    return out


@public_check("lfq_entropy_terms", reference=ref.lfq_entropy_terms)
def check_lfq_entropy_terms(fn) -> None:
    """Values against the formula at two temperatures and the default, the classic slips
    (sign, swap, factor 2, temperature, log base, {0,1} codes, softmax axis), and gradients."""
    g = torch.Generator().manual_seed(3)
    z = torch.randn(24, 4, generator=g) * 0.3  # [N, d]
    for tau in (1.0, 2.5):
        per, cb = _pair(attempt(fn, z.clone(), tau), "lfq_entropy_terms")
        got = (float(per), float(cb))
        want = tuple(float(v) for v in _terms(z, tau))
        if close(got[0], want[0], 1e-4) and close(got[1], want[1], 1e-4):
            continue
        slips = {
            "the entropies came out negative: you returned -H. H = -sum p log p >= 0 (the "
            "minus sign of the loss goes in per_sample - codebook, not here)":
                (-want[0], -want[1]),
            "swapped: first the mean of the per-sample entropies H(p_i), then the entropy of "
            "the mean distribution H(mean_i p_i) (the larger of the two)": (want[1], want[0]),
            "use log base e (nats), not log2": _terms(z, tau, log_base=2.0),
            "your logits are half as large as 2 * inv_temperature * z C^T (which comes from "
            "-inv_temperature * ||z - c||^2, codes c in {-1, +1}^d): you dropped the factor 2, "
            "or used bits {0, 1} as codes, which amounts to the same": _terms(z, tau, factor=1.0),
            "the logits are 2 * inv_temperature * z C^T: you left out inv_temperature (or "
            "ignored the argument)": _terms(z, 1.0),
            "you ignored the inv_temperature argument (the default is only a default)":
                _terms(z, 100.0),
            "softmax over the 2^d codes (dim 1) for each sample, not over the samples":
                _terms(z, tau, axis=0),
            "per_sample_entropy is the mean over samples of H(p_i), not the sum":
                _terms(z, tau, per_sample_sum=True),
        }
        for slip, wrong in slips.items():
            wrong = tuple(float(v) for v in wrong)
            if close(wrong[0], want[0], 1e-4) and close(wrong[1], want[1], 1e-4):
                continue
            expect(not (close(got[0], wrong[0], 1e-4) and close(got[1], wrong[1], 1e-4)),
                   slip + ".")
        expect(close(got[0], want[0], 1e-4),
               f"inv_temperature {tau}: per_sample_entropy should be {want[0]:.4f}, got "
               f"{got[0]:.4f}.")
        expect(False, f"inv_temperature {tau}: codebook_entropy should be {want[1]:.4f}, got "
               f"{got[1]:.4f}.")
    small = z * 0.02
    per, cb = _pair(attempt(fn, small.clone()), "lfq_entropy_terms")
    want = _terms(small, 100.0)
    expect(close(float(per), float(want[0]), 1e-4) and close(float(cb), float(want[1]), 1e-4),
           "with the default inv_temperature (100) the values are wrong: make 100.0 the "
           "default of the argument.")
    zg = z.clone().requires_grad_(True)
    per, cb = attempt(fn, zg, 1.0)
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

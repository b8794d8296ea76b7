"""Public checks for finite scalar quantization (lessonlib.quantizers.fsq).

fsq_quantize, fsq_indices_to_codes. Each probe feeds a ramp of inputs that crosses every
rounding threshold (plus saturated values), compares the learner's output with the classic
slips computed here on the same inputs to name the mistake, then with lessonlib's reference.
"""

from __future__ import annotations

import math

import torch

from lessonlib.checks.core import (
    attempt,
    expect,
    expect_tensor,
    fail,
    public_check,
    reject_slips,
)
from lessonlib.quantizers import fsq as ref

LEVELS = (8, 5, 5, 5)  # the FSQ paper's 1000-code configuration: even and odd levels
MIXED = (2, 3, 4, 7, 6)  # more parities and sizes


def _per_channel(values, ndim: int, dtype=torch.float32) -> torch.Tensor:
    """One value per channel, shaped [1, d, 1, ...] to broadcast against [B, d, ...]."""
    return torch.tensor(values, dtype=dtype).view((1, -1) + (1,) * (ndim - 2))


def _half(levels, ndim):
    """(L - 1) / 2 per channel: the largest level of the grid."""
    return _per_channel([(L - 1) / 2 for L in levels], ndim)


def _ramp(levels, n: int = 241) -> torch.Tensor:
    """[2, d, n]: every channel sweeps -4..4 (crossing all thresholds); the second sample
    is saturated (|z| = 30, where tanh is exactly +-1 in float32), alternating in sign."""
    d = len(levels)
    sweep = torch.linspace(-4.0, 4.0, n).expand(d, n)  # [d, n]
    saturated = 30.0 * torch.where(torch.arange(n) % 2 == 0, 1.0, -1.0).expand(d, n)
    return torch.stack([sweep, saturated]).contiguous()  # [2, d, n]


def _value_slips(z: torch.Tensor, levels) -> dict:
    """What each classic slip gives for z [B, d, ...]: message -> z_hat."""
    nd = z.dim()
    half, shift = _half(levels, nd), _per_channel([0.5 * (L % 2 == 0) for L in levels], nd)
    l_over_2, l_scale = _per_channel([L / 2 for L in levels], nd), _per_channel(levels, nd)
    t = torch.tanh(z)
    return {
        "even L: no half shift. An even L needs the half-integer grid (L = 4: -1.5, -0.5, "
        "0.5, 1.5): subtract 0.5 before rounding and add it back after. Without it, "
        "rounding (L-1)/2 * tanh(z) gives L - 1 levels inside and L + 1 at saturation.":
            torch.round(half * t),
        "even L: you subtracted the 0.5 before rounding but did not add it back, so the grid "
        "is asymmetric (L = 8: -4..3); add the shift back after rounding.":
            torch.round(half * t - shift),
        "the scale is (L-1)/2, not L/2: with L/2 * tanh(z) the outer levels grab too much of "
        "the range, and at saturation round can reach +-L/2, off the grid.":
            torch.round(l_over_2 * t - shift) + shift,
        "the scale is (L-1)/2 and even L needs the half shift: round(L/2 * tanh(z)) gives "
        "L + 1 integer levels.": torch.round(l_over_2 * t),
        "round(L * tanh(z)) gives 2L + 1 levels -L..L: scale by (L-1)/2 instead, with the "
        "half shift for even L.": torch.round(l_scale * t),
        "the tanh bound is missing: without it, values escape the grid (round(z * (L-1)/2) "
        "is unbounded); bound first with tanh.": torch.round(half * z - shift) + shift,
        "use round, not floor: floor moves every threshold by half a step.":
            torch.floor(half * t - shift) + shift,
        "use round, not trunc (.long() / int()): truncation rounds towards 0, so the level "
        "around 0 is twice as wide.": torch.trunc(half * t - shift) + shift,
    }


def _index_slips(z_hat: torch.Tensor, levels) -> dict:
    """What each classic slip gives for codes on the grid [B, d, ...]: message -> indices."""
    nd = z_hat.dim()
    digits = (z_hat + _half(levels, nd)).round().long()  # [B, d, ...] in 0..L-1

    def combine(values, place):
        return (values * _per_channel(place, nd, torch.long)).sum(1)

    d = len(levels)
    return {
        "dim 0 must be the least significant digit (index = d_0 + L_0 d_1 + L_0 L_1 d_2 + "
        "...); yours makes dim 0 the most significant.":
            combine(digits, [math.prod(levels[i + 1:]) for i in range(d)]),
        "the place values are the cumulative product *before* each dim, [1, L_0, L_0 L_1, "
        "...]; yours include the dim's own L ([L_0, L_0 L_1, ...]).":
            combine(digits, [math.prod(levels[:i + 1]) for i in range(d)]),
        "the place values are products of the levels, [1, L_0, L_0 L_1, ...], not powers of "
        "one L.": combine(digits, [levels[0] ** i for i in range(d)]),
        "shift each value by (L-1)/2 to a digit in 0..L-1 before combining: you combined the "
        "centred values themselves.":
            (z_hat * _per_channel(ref._basis(levels), nd)).sum(1).long(),
        "the digit offset is (L-1)/2 (3.5 for L = 8), not L // 2: your even-L digits are off "
        "by half.": combine((z_hat + _per_channel([L // 2 for L in levels], nd)).floor().long(),
                            ref._basis(levels)),
    }


def _expect_pair(out):
    expect(isinstance(out, (tuple, list)) and len(out) == 2,
           f"fsq_quantize should return a pair (z_hat, indices), got {type(out).__name__}.")
    return out


def _expect_indices(idx, shape):
    expect(isinstance(idx, torch.Tensor),
           f"indices should be a torch.Tensor, got {type(idx).__name__}.")
    expect(not (idx.dim() == len(shape) + 1 and idx.shape[0] == shape[0]),
           f"indices should have shape {list(shape)} (one index per position, the d channels "
           f"combined into one number), got {list(idx.shape)}.")
    expect_tensor(idx, shape, "indices")
    expect(not idx.is_floating_point(), "indices must be integers (torch.long): convert the "
           "digits with .round().long() before combining them.")


def _quantize_values(z_hat, z, levels) -> torch.Tensor:
    """The ramp's values: on the grid of each channel, at the right level."""
    expect_tensor(z_hat, z.shape, "z_hat")
    z_hat = z_hat.detach().float()
    want = ref.fsq_quantize(z, levels)[0]
    reject_slips(z_hat, _value_slips(z, levels), want=want)
    for c, level in enumerate(levels):
        grid = ref.fsq_levels(level)
        off = [v for v in torch.unique(z_hat[:, c]).tolist()
               if not torch.isclose(grid, torch.tensor(v), atol=1e-5).any()]
        expect(not off, f"L = {level}: values {off[:4]} are off the grid {grid.tolist()} "
               "(symmetric about 0).")
    expect(torch.allclose(z_hat, want, atol=1e-5), f"levels {levels}: the values are on the "
           "grid but some inputs land on the wrong level: z_hat = round((L-1)/2 * tanh(z) - "
           "s) + s, s = 0.5 for even L.")
    return want


def _quantize_indices(idx, want, levels) -> None:
    """The mixed-radix index of each position, dim 0 the least significant digit."""
    _expect_indices(idx, (want.shape[0],) + tuple(want.shape[2:]))
    idx = idx.long()
    want_idx = ref.fsq_codes_to_indices(want, levels)
    reject_slips(idx, _index_slips(want, levels), want=want_idx, same=torch.equal)
    k = ref.implicit_codebook_size(levels)
    expect(bool((idx >= 0).all() and (idx < k).all()),
           f"indices must lie in 0..{k - 1} (prod of the levels), got "
           f"{int(idx.min())}..{int(idx.max())}.")
    expect(torch.equal(idx, want_idx), f"levels {levels}: wrong indices. digit_i = z_hat_i + "
           "(L_i-1)/2, index = sum_i digit_i * prod_(j<i) L_j.")


def _quantize_shapes(fn) -> None:
    """z of shape [B, d] and [B, d, H, W]: the channel dim is dim 1."""
    for shape in ((5, 4), (2, 4, 3, 2)):
        z = torch.linspace(-3, 3, math.prod(shape)).reshape(shape)
        z_hat, idx = _expect_pair(attempt(fn, z.clone(), LEVELS))
        expect_tensor(z_hat, shape, f"z_hat for z of shape {list(shape)}")
        _expect_indices(idx, (shape[0],) + shape[2:])
        expect(torch.equal(idx.long(), ref.fsq_quantize(z, LEVELS)[1]),
               f"wrong indices for z of shape {list(shape)}: the channel dim is dim 1.")


def _quantize_gradient(fn) -> None:
    """Straight-through around the rounding only: dz_hat/dz = (L-1)/2 * (1 - tanh(z)^2)."""
    z = (torch.linspace(-2.5, 2.5, 4 * 30).reshape(1, 4, 30) + 0.013).requires_grad_(True)
    z_hat, _ = _expect_pair(attempt(fn, z, LEVELS))
    expect(isinstance(z_hat, torch.Tensor) and z_hat.requires_grad,
           "z_hat carries no gradient: no straight-through (round, .long() or .detach() on "
           "the wrong side cut the graph). Use x + (x.round() - x).detach().")
    w = torch.linspace(0.5, 1.5, z.numel()).reshape(z.shape)
    (z_hat * w).sum().backward()
    expect(z.grad is not None, "no gradient reached z: no straight-through.")
    t = torch.tanh(z.detach())
    want = w * _half(LEVELS, 3) * (1 - t ** 2)  # autograd of (L-1)/2 * tanh(z)
    reject_slips(z.grad, {
        "the gradient is zero: round has zero derivative almost everywhere. Wrap it with "
        "the straight-through estimator, x + (x.round() - x).detach().": torch.zeros_like(w),
        "the gradient skips tanh and the scale: the straight-through should wrap only the "
        "rounding, so dz_hat/dz = (L-1)/2 * (1 - tanh(z)^2).": w,
        "the gradient misses the (L-1)/2 scale: apply the straight-through to the scaled "
        "value (L-1)/2 * tanh(z) - s, not to tanh(z).": w * (1 - t ** 2),
    }, want=want, tol=1e-4)
    expect(torch.allclose(z.grad, want, atol=1e-4),
           "wrong gradient: it should be that of (L-1)/2 * tanh(z) (rounding skipped).")


@public_check("fsq_quantize", reference=ref.fsq_quantize)
def check_fsq_quantize(fn) -> None:
    """Grid values and thresholds on a ramp, saturation, shapes, straight-through gradient,
    and the mixed-radix indices, for levels (8, 5, 5, 5) and (2, 3, 4, 7, 6)."""
    for levels in (LEVELS, MIXED):
        z = _ramp(levels)  # [2, d, n]
        z_hat, idx = _expect_pair(attempt(fn, z.clone(), levels))
        want = _quantize_values(z_hat, z, levels)
        _quantize_indices(idx, want, levels)
    _quantize_shapes(fn)
    _quantize_gradient(fn)


# ----------------------------------------------------------------------------- indices -> codes


def _code_slips(idx: torch.Tensor, want: torch.Tensor, levels) -> dict:
    """What each classic slip decodes from indices [K]: message -> codes [K, d]."""
    half = _half(levels, 2)  # [1, d]

    def digits(place):
        return torch.stack([(idx // p) % L for p, L in zip(place, levels)], 1).float()

    d = len(levels)
    return {
        "you returned the digits 0..L-1: subtract (L-1)/2 to centre them on the grid.":
            want + half,
        "dim 0 is the least significant digit: digit_i = (index // prod_(j<i) L_j) % L_i; "
        "yours reads dim 0 as the most significant.":
            digits([math.prod(levels[i + 1:]) for i in range(d)]) - half,
        "the place value of dim i is prod_(j<i) L_j (1 for dim 0), not prod_(j<=i) L_j.":
            digits([math.prod(levels[:i + 1]) for i in range(d)]) - half,
        "the centre offset is (L-1)/2 (3.5 for L = 8), not L // 2: even-L codes must be "
        "half-integers.": want + half - torch.tensor([float(L // 2) for L in levels]),
    }


def _decode_all(fn, levels) -> None:
    """Every index 0..K-1 in order: codes [K, d], float, centred on the grid."""
    k, d = ref.implicit_codebook_size(levels), len(levels)
    idx = torch.arange(k)
    got = attempt(fn, idx.clone(), levels)
    expect(isinstance(got, torch.Tensor), f"return a torch.Tensor, got {type(got).__name__}.")
    expect(tuple(got.shape) != (d, k) or d == k, f"indices [{k}] should give codes [{k}, {d}] "
           "([B, d]): you put the channel dim first.")
    expect_tensor(got, (k, d), f"codes for indices of shape [{k}]")
    expect(got.is_floating_point(), "return float codes (even L gives half-integers such "
           "as -3.5): convert with .float() before centring.")
    want = ref.fsq_indices_to_codes(idx, levels)
    got = got.detach().float()
    reject_slips(got, _code_slips(idx, want, levels), want=want, same=torch.equal)
    expect(torch.equal(got, want), f"levels {levels}: wrong codes. Expected code 0 = "
           f"{want[0].tolist()} and code 1 = {want[1].tolist()}, got {got[0].tolist()} and "
           f"{got[1].tolist()}.")


def _decode_grid(fn) -> None:
    """A [B, H, W] grid of indices gives codes [B, d, H, W] that encode back to it."""
    grid = torch.tensor([[[0, 999, 7], [8, 40, 200]], [[1, 2, 3], [500, 12, 613]]])  # [2, 2, 3]
    got = attempt(fn, grid.clone(), LEVELS)
    if isinstance(got, torch.Tensor) and tuple(got.shape) == (2, 2, 3, 4):
        fail("indices [B, H, W] should give codes [B, d, H, W]: stack the channels at dim 1, "
             "not last.")
    expect_tensor(got, (2, 4, 2, 3), "codes for indices of shape [2, 2, 3]")
    expect(torch.equal(got.detach().float(), ref.fsq_indices_to_codes(grid, LEVELS)),
           "indices [B, H, W]: the codes are right for [B] but wrong for a grid; decode each "
           "position independently and stack the d channels at dim 1.")
    expect(torch.equal(ref.fsq_codes_to_indices(got.detach().float(), LEVELS), grid),
           "round trip failed: indices -> your codes -> indices does not give the indices back.")


@public_check("fsq_indices_to_codes", reference=ref.fsq_indices_to_codes)
def check_fsq_indices_to_codes(fn) -> None:
    """All 1000 codes of (8, 5, 5, 5) in order, a [B, H, W] grid of indices, other levels,
    and the round trip with lessonlib's fsq_codes_to_indices."""
    for levels in (LEVELS, MIXED, (3,)):
        _decode_all(fn, levels)
    _decode_grid(fn)

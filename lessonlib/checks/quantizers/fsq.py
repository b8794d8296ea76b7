"""Public checks for finite scalar quantization: fsq_quantize, fsq_indices_to_codes."""

from __future__ import annotations

import math

import torch

from lessonlib.checks.core import (
    attempt,
    expect,
    expect_close,
    expect_tensor,
    expect_tuple,
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


def _wrong_places(levels) -> tuple[list[int], list[int]]:
    """Place values of two slips: dim 0 the most significant, and prod_(j<=i) L_j."""
    return ([math.prod(levels[i + 1:]) for i in range(len(levels))],
            [math.prod(levels[:i + 1]) for i in range(len(levels))])


def _value_slips(z: torch.Tensor, levels) -> dict:
    """What each classic slip gives for z [B, d, ...]: message -> z_hat."""
    nd, t = z.dim(), torch.tanh(z)
    half, shift = _half(levels, nd), _per_channel([0.5 * (L % 2 == 0) for L in levels], nd)
    l_over_2, l_scale = _per_channel([L / 2 for L in levels], nd), _per_channel(levels, nd)
    return {
        "even L: no half shift. An even L needs the half-integer grid (L = 4: -1.5, -0.5, "
        "0.5, 1.5): subtract 0.5 before rounding, add it back after.": torch.round(half * t),
        "even L: you subtracted the 0.5 before rounding but did not add it back after, so "
        "the grid is asymmetric (L = 8: -4..3).": torch.round(half * t - shift),
        "the scale is (L-1)/2, not L/2: at saturation round(L/2 * tanh(z)) reaches +-L/2, "
        "off the grid.": torch.round(l_over_2 * t - shift) + shift,
        "the scale is (L-1)/2 and even L needs the half shift: round(L/2 * tanh(z)) gives "
        "L + 1 integer levels.": torch.round(l_over_2 * t),
        "round(L * tanh(z)) gives 2L + 1 levels: scale by (L-1)/2, with the half shift for "
        "even L.": torch.round(l_scale * t),
        "the tanh bound is missing: round(z * (L-1)/2) is unbounded and escapes the grid.":
            torch.round(half * z - shift) + shift,
        "use round, not floor: floor moves every threshold by half a step.":
            torch.floor(half * t - shift) + shift,
        "use round, not trunc (.long(), int()): the level around 0 becomes twice as wide.":
            torch.trunc(half * t - shift) + shift,
    }


def _index_slips(z_hat: torch.Tensor, levels) -> dict:
    """What each classic slip gives for codes on the grid [B, d, ...]: message -> indices."""
    nd, (msb, inclusive) = z_hat.dim(), _wrong_places(levels)
    digits = (z_hat + _half(levels, nd)).round().long()  # [B, d, ...] in 0..L-1

    def combine(values, place):
        return (values * _per_channel(place, nd, torch.long)).sum(1)

    return {
        "dim 0 must be the least significant digit (index = d_0 + L_0 d_1 + L_0 L_1 d_2 + "
        "...); yours makes dim 0 the most significant.": combine(digits, msb),
        "the place values are the cumulative product *before* each dim, [1, L_0, L_0 L_1, "
        "...], without the dim's own L.": combine(digits, inclusive),
        "the place values are products of the levels, [1, L_0, L_0 L_1, ...], not powers of "
        "one L.": combine(digits, [levels[0] ** i for i in range(len(levels))]),
        "shift each value by (L-1)/2 to a digit in 0..L-1 before combining.":
            (z_hat * _per_channel(ref._basis(levels), nd)).sum(1).long(),
        "the digit offset is (L-1)/2 (3.5 for L = 8), not L // 2.": combine(
            (z_hat + _per_channel([L // 2 for L in levels], nd)).floor().long(),
            ref._basis(levels)),
    }


def quantized_pair(fn, z: torch.Tensor, *args):
    """The learner's (z_hat, indices) for a copy of z [B, d, ...], z_hat of the shape of z."""
    z_hat, idx = expect_tuple(attempt(fn, z.clone(), *args), "z_hat, indices")
    return expect_tensor(z_hat, z.shape, f"z_hat for z of shape {list(z.shape)}"), idx


def position_indices(idx, z: torch.Tensor) -> torch.Tensor:
    """One integer index per position, [B, ...] for z [B, d, ...], as torch.long."""
    shape = (z.shape[0],) + tuple(z.shape[2:])
    expect(not isinstance(idx, torch.Tensor) or idx.dim() != len(shape) + 1
           or idx.shape[0] != shape[0], f"indices should have shape {list(shape)}, one index "
           f"per position (the d channels combined), got {list(idx.shape)}.")
    expect_tensor(idx, shape, "indices")
    expect(not idx.is_floating_point(), "indices must be integers (torch.long): convert the "
           "digits with .round().long() before combining them.")
    return idx.long()


def _quantize_values(fn, levels) -> None:
    """A ramp crossing every threshold, saturated values: grid levels and mixed-radix indices."""
    n = 241  # in every channel sample 0 sweeps -4..4, sample 1 saturates (+-30: tanh is +-1)
    z = torch.stack([torch.linspace(-4.0, 4.0, n), 30.0 * (1 - 2 * (torch.arange(n) % 2))])
    z = z[:, None, :].expand(2, len(levels), n).contiguous()  # [2, d, n]
    z_hat, idx = quantized_pair(fn, z, levels)
    z_hat, want = z_hat.detach().float(), ref.fsq_quantize(z, levels)[0]
    reject_slips(z_hat, _value_slips(z, levels), want=want)
    for c, level in enumerate(levels):
        grid = ref.fsq_levels(level)
        off = [v for v in torch.unique(z_hat[:, c]).tolist()
               if not torch.isclose(grid, torch.tensor(v), atol=1e-5).any()]
        expect(not off, f"L = {level}: values {off[:4]} are off the grid {grid.tolist()}.")
    expect(torch.allclose(z_hat, want, atol=1e-5), f"levels {levels}: the values are on the "
           "grid but some land on the wrong level: z_hat = round((L-1)/2 * tanh(z) - s) + s, "
           "s = 0.5 for even L.")
    idx = position_indices(idx, z)
    want_idx = ref.fsq_codes_to_indices(want, levels)
    expect_close(idx, want_idx, f"levels {levels}: wrong indices. digit_i = z_hat_i + "
                 "(L_i-1)/2, index = sum_i digit_i * prod_(j<i) L_j.", _index_slips(want, levels),
                 same=torch.equal)


@public_check("fsq_quantize", reference=ref.fsq_quantize)
def check_fsq_quantize(fn) -> None:
    """Values and indices for two level sets, z of rank 2 and 4, the straight-through gradient."""
    for levels in (LEVELS, MIXED):
        _quantize_values(fn, levels)
    for shape in ((5, 4), (2, 4, 3, 2)):
        z = torch.linspace(-3, 3, math.prod(shape)).reshape(shape)
        idx = position_indices(quantized_pair(fn, z, LEVELS)[1], z)
        expect(torch.equal(idx, ref.fsq_quantize(z, LEVELS)[1]),
               f"wrong indices for z of shape {list(shape)}: the channel dim is dim 1.")
    # straight-through around the rounding only: dz_hat/dz = (L-1)/2 * (1 - tanh(z)^2)
    z = (torch.linspace(-2.5, 2.5, 4 * 30).reshape(1, 4, 30) + 0.013).requires_grad_(True)
    z_hat = quantized_pair(fn, z, LEVELS)[0]
    expect(z_hat.requires_grad, "z_hat carries no gradient: no straight-through (round, "
           ".long() or .detach() cut the graph). Use x + (x.round() - x).detach().")
    w = torch.linspace(0.5, 1.5, z.numel()).reshape(z.shape)
    (z_hat * w).sum().backward()
    expect(z.grad is not None, "no gradient reached z: no straight-through.")
    t = torch.tanh(z.detach())
    want = w * _half(LEVELS, 3) * (1 - t ** 2)  # autograd of (L-1)/2 * tanh(z)
    reject_slips(z.grad, {
        "the gradient is zero: round has zero derivative almost everywhere; use the "
        "straight-through estimator x + (x.round() - x).detach().": torch.zeros_like(w),
        "the gradient skips tanh and the scale: the straight-through wraps only the "
        "rounding, so dz_hat/dz = (L-1)/2 * (1 - tanh(z)^2).": w,
        "the gradient misses the (L-1)/2 scale: apply the straight-through to (L-1)/2 * "
        "tanh(z) - s, not to tanh(z).": w * (1 - t ** 2),
    }, want=want, tol=1e-4)
    expect(torch.allclose(z.grad, want, atol=1e-4),
           "wrong gradient: it should be that of (L-1)/2 * tanh(z) (rounding skipped).")


def _code_slips(idx: torch.Tensor, want: torch.Tensor, levels) -> dict:
    """What each classic slip decodes from indices [K]: message -> codes [K, d]."""
    half, (msb, inclusive) = _half(levels, 2), _wrong_places(levels)  # [1, d]

    def digits(place):
        return torch.stack([(idx // p) % L for p, L in zip(place, levels)], 1).float() - half

    return {
        "you returned the digits 0..L-1: subtract (L-1)/2 to centre them.": want + half,
        "dim 0 is the least significant digit: digit_i = (index // prod_(j<i) L_j) % L_i; "
        "yours reads dim 0 as the most significant.": digits(msb),
        "the place value of dim i is prod_(j<i) L_j (1 for dim 0), not prod_(j<=i) L_j.":
            digits(inclusive),
        "the centre offset is (L-1)/2 (3.5 for L = 8), not L // 2: even-L codes are "
        "half-integers.": want + half - torch.tensor([float(L // 2) for L in levels]),
    }


@public_check("fsq_indices_to_codes", reference=ref.fsq_indices_to_codes)
def check_fsq_indices_to_codes(fn) -> None:
    """All 1000 codes of (8, 5, 5, 5) in order, other levels, a [B, H, W] grid of indices."""
    for levels in (LEVELS, MIXED, (3,)):  # every index 0..K-1: codes [K, d], float, centred
        k, d = ref.implicit_codebook_size(levels), len(levels)
        idx = torch.arange(k)
        got = expect_tensor(attempt(fn, idx.clone(), levels), (k, d), f"codes for indices "
                            f"[{k}]", {(d, k): "you put the channel dim first: codes are [B, d]."}
                            if d != k else None)
        expect(got.is_floating_point(), "return float codes (even L gives half-integers such "
               "as -3.5): convert with .float() before centring.")
        want, got = ref.fsq_indices_to_codes(idx, levels), got.detach().float()
        expect_close(got, want, f"levels {levels}: wrong codes. Expected code 0 = "
                     f"{want[0].tolist()} and code 1 = {want[1].tolist()}, got "
                     f"{got[0].tolist()} and {got[1].tolist()}.", _code_slips(idx, want, levels),
                     same=torch.equal)
    grid = torch.tensor([[[0, 999, 7], [8, 40, 200]], [[1, 2, 3], [500, 12, 613]]])  # [2, 2, 3]
    got = expect_tensor(attempt(fn, grid.clone(), LEVELS), (2, 4, 2, 3), "codes for indices "
                        "[2, 2, 3]", {(2, 2, 3, 4): "indices [B, H, W] should give codes "
                                      "[B, d, H, W]: stack the channels at dim 1, not last."})
    expect(torch.equal(got.detach().float(), ref.fsq_indices_to_codes(grid, LEVELS)),
           "indices [B, H, W]: the codes are right for [B] but wrong for a grid; stack the d "
           "channels at dim 1.")

"""Finite scalar quantization, FSQ (Mentzer, Minnen, Agustsson, Tschannen, ICLR 2024).

No codebook: bound each channel with tanh, scale it, round it. Channel i with L_i levels
takes the values of a fixed, symmetric grid (the course's convention):

    -(L_i - 1)/2, ..., (L_i - 1)/2    integers for odd L_i, half-integers for even L_i
    L = 5: -2, -1, 0, 1, 2            L = 4: -1.5, -0.5, 0.5, 1.5

    z_hat_i = round((L_i - 1)/2 * tanh(z_i) - s_i) + s_i,   s_i = 0.5 if L_i is even, else 0

with a straight-through gradient around the rounding only. The implicit codebook is every
combination of levels, prod_i L_i codes. Token index: mixed radix, dim 0 least significant,

    digit_i = z_hat_i + (L_i - 1)/2  in 0..L_i-1,    index = sum_i digit_i * prod_{j<i} L_j.

The FSQ paper's code instead divides by L_i // 2, so its grid lies in [-1, 1] and, for even
L_i, is shifted (L = 4: -1, -0.5, 0, 0.5); `paper_fsq_levels` gives that grid for plots.
FSQ follows lessonlib.quantizers.common's output convention (z_q, indices, aux_loss, perplexity).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from lessonlib.core.information import code_perplexity
from lessonlib.quantizers.common import QuantizerOutput


def implicit_codebook_size(levels: Sequence[int]) -> int:
    """Number of codes of the implicit codebook: prod_i L_i."""
    return math.prod(int(level) for level in levels)


def _per_channel(values: Sequence[float], ndim: int, like: torch.Tensor) -> torch.Tensor:
    """A [d] list as a tensor shaped [1, d, 1, ...] to broadcast over [B, d, ...]."""
    t = torch.as_tensor(values, dtype=like.dtype, device=like.device)
    return t.view((1, -1) + (1,) * (ndim - 2))


def _basis(levels: Sequence[int]) -> list[int]:
    """Mixed-radix place values, dim 0 least significant: [1, L_0, L_0 L_1, ...]."""
    return [math.prod(int(level) for level in levels[:i]) for i in range(len(levels))]


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """round(x) forward, identity backward (straight-through estimator)."""
    return x + (x.round() - x).detach()


def fsq_quantize(z: torch.Tensor, levels: Sequence[int]):
    """Bound, round and index: z [B, d, ...] -> (z_hat [B, d, ...], indices [B, ...] int64).

    z_hat lies exactly on the grid -(L_i - 1)/2 .. (L_i - 1)/2 of each channel; the gradient
    of z_hat with respect to z is that of (L_i - 1)/2 * tanh(z_i) (rounding is skipped).
    """
    levels = [int(level) for level in levels]
    half = _per_channel([(level - 1) / 2 for level in levels], z.dim(), z)  # [1, d, 1..]
    shift = _per_channel([0.5 * (level % 2 == 0) for level in levels], z.dim(), z)
    z_hat = round_ste(half * torch.tanh(z) - shift) + shift  # [B, d, ...]
    return z_hat, fsq_codes_to_indices(z_hat.detach(), levels)


def fsq_codes_to_indices(codes: torch.Tensor, levels: Sequence[int]) -> torch.Tensor:
    """Grid values [B, d, ...] -> mixed-radix token indices [B, ...] (int64)."""
    levels = [int(level) for level in levels]
    half = _per_channel([(level - 1) / 2 for level in levels], codes.dim(), codes)
    digits = (codes + half).round().long()  # [B, d, ...] in 0..L_i-1
    basis = _per_channel(_basis(levels), codes.dim(), digits)  # [1, d, 1..] int64
    return (digits * basis).sum(dim=1)


def fsq_indices_to_codes(indices: torch.Tensor, levels: Sequence[int]) -> torch.Tensor:
    """Token indices [B, ...] -> grid values [B, d, ...] (float32): the exact inverse."""
    levels = [int(level) for level in levels]
    indices = indices.long()
    digits = [(indices // place) % level for place, level in zip(_basis(levels), levels)]
    codes = torch.stack(digits, dim=1).float()  # [B, d, ...] in 0..L_i-1
    half = _per_channel([(level - 1) / 2 for level in levels], codes.dim(), codes)
    return codes - half


def fsq_codebook(levels: Sequence[int]) -> torch.Tensor:
    """Every code of the implicit codebook in index order: [prod(L), d]."""
    return fsq_indices_to_codes(torch.arange(implicit_codebook_size(levels)), levels)


def fsq_levels(level: int) -> torch.Tensor:
    """The course's grid for one channel with `level` values: [L], symmetric about 0."""
    return torch.arange(level, dtype=torch.float32) - (level - 1) / 2


def paper_fsq_levels(level: int) -> torch.Tensor:
    """The FSQ paper's grid for one channel: round(...) / (L // 2), inside [-1, 1].

    For odd L it is the course's grid divided by (L - 1)/2; for even L it is shifted so that
    0 is a level (L = 4: -1, -0.5, 0, 0.5): one end has a level the other lacks.
    """
    low = -(level // 2)
    return torch.arange(low, low + level, dtype=torch.float32) / (level // 2)


class FSQ(nn.Module):
    """Finite scalar quantizer for [B, d, H, W] maps, d = len(levels); no parameters, no loss."""

    def __init__(self, levels: Sequence[int], quantize=fsq_quantize):
        super().__init__()
        self.levels = tuple(int(level) for level in levels)
        self.num_codes = implicit_codebook_size(self.levels)
        self.quantize = quantize

    def forward(self, z_e: torch.Tensor):
        z_q, indices = self.quantize(z_e, self.levels)  # [B, d, H, W], [B, H, W]
        return QuantizerOutput(z_q, indices, z_e.new_zeros(()),
                               code_perplexity(indices, self.num_codes))

"""Realistic wrong answers for ch07_fsq_lfq (see AUTHORING.md)."""

import math

import torch

# ---------------------------------------------------------------- fsq_quantize


def fsq_quantize__no_half_shift(z, levels):
    """The beginner's path snippet: round((L-1)/2 * tanh(z)) with no half shift for even L."""
    shape = (1, -1) + (1,) * (z.dim() - 2)
    L = torch.tensor(levels, dtype=z.dtype).view(shape)
    bounded = (L - 1) / 2 * torch.tanh(z)
    z_hat = bounded + (bounded.round() - bounded).detach()
    digits = (z_hat.detach() + (L - 1) / 2).round().long().clamp(min=0)
    basis = torch.tensor([math.prod(levels[:i]) for i in range(len(levels))]).view(shape)
    return z_hat, (digits * basis).sum(1)


def fsq_quantize__scaled_by_half_L(z, levels):
    """Scales tanh by L/2 instead of (L-1)/2: saturated values escape the grid."""
    shape = (1, -1) + (1,) * (z.dim() - 2)
    L = torch.tensor(levels, dtype=z.dtype).view(shape)
    shift = (L % 2 == 0).to(z.dtype) * 0.5
    bounded = L / 2 * torch.tanh(z) - shift
    z_hat = bounded + (bounded.round() - bounded).detach() + shift
    digits = (z_hat.detach() + (L - 1) / 2).round().long()
    basis = torch.tensor([math.prod(levels[:i]) for i in range(len(levels))]).view(shape)
    return z_hat, (digits * basis).sum(1)


def fsq_quantize__no_straight_through(z, levels):
    """Rounds without the straight-through estimator: no gradient reaches the encoder."""
    shape = (1, -1) + (1,) * (z.dim() - 2)
    L = torch.tensor(levels, dtype=z.dtype).view(shape)
    shift = (L % 2 == 0).to(z.dtype) * 0.5
    z_hat = torch.round((L - 1) / 2 * torch.tanh(z) - shift) + shift
    digits = (z_hat + (L - 1) / 2).round().long()
    basis = torch.tensor([math.prod(levels[:i]) for i in range(len(levels))]).view(shape)
    return z_hat, (digits * basis).sum(1)


def fsq_quantize__dim0_most_significant(z, levels):
    """Mixed radix with dim 0 as the most significant digit."""
    shape = (1, -1) + (1,) * (z.dim() - 2)
    L = torch.tensor(levels, dtype=z.dtype).view(shape)
    shift = (L % 2 == 0).to(z.dtype) * 0.5
    bounded = (L - 1) / 2 * torch.tanh(z) - shift
    z_hat = bounded + (bounded.round() - bounded).detach() + shift
    digits = (z_hat.detach() + (L - 1) / 2).round().long()
    basis = torch.tensor([math.prod(levels[i + 1:]) for i in range(len(levels))]).view(shape)
    return z_hat, (digits * basis).sum(1)


def fsq_quantize__inclusive_cumprod(z, levels):
    """Place values from torch.cumprod(levels): [L0, L0*L1, ...] instead of [1, L0, ...]."""
    shape = (1, -1) + (1,) * (z.dim() - 2)
    L = torch.tensor(levels, dtype=z.dtype).view(shape)
    shift = (L % 2 == 0).to(z.dtype) * 0.5
    bounded = (L - 1) / 2 * torch.tanh(z) - shift
    z_hat = bounded + (bounded.round() - bounded).detach() + shift
    digits = (z_hat.detach() + (L - 1) / 2).round().long()
    basis = torch.cumprod(torch.tensor(levels), 0).view(shape)
    return z_hat, (digits * basis).sum(1)


# ---------------------------------------------------------------- fsq_indices_to_codes


def fsq_indices_to_codes__dim0_most_significant(indices, levels):
    """Reads dim 0 as the most significant digit."""
    codes = [(indices // math.prod(levels[i + 1:])) % L - (L - 1) / 2
             for i, L in enumerate(levels)]
    return torch.stack(codes, dim=1).float()


def fsq_indices_to_codes__digits_not_centred(indices, levels):
    """Returns the digits 0..L-1 without subtracting (L-1)/2."""
    codes = [(indices // math.prod(levels[:i])) % L for i, L in enumerate(levels)]
    return torch.stack(codes, dim=1).float()


def fsq_indices_to_codes__integer_offset(indices, levels):
    """Centres with L // 2: even L gives integers instead of half-integers."""
    codes = [(indices // math.prod(levels[:i])) % L - L // 2 for i, L in enumerate(levels)]
    return torch.stack(codes, dim=1).float()


def fsq_indices_to_codes__channels_last(indices, levels):
    """Stacks the channels last: [B, ..., d] instead of [B, d, ...]."""
    codes = [(indices // math.prod(levels[:i])) % L - (L - 1) / 2
             for i, L in enumerate(levels)]
    return torch.stack(codes, dim=-1).float()


# ---------------------------------------------------------------- lfq_quantize


def lfq_quantize__torch_sign(z):
    """torch.sign: sign(0) = 0, a third value."""
    q = torch.sign(z)
    place = (2 ** torch.arange(z.shape[1])).view((1, -1) + (1,) * (z.dim() - 2))
    return z + (q - z).detach(), ((q > 0).long() * place).sum(1)


def lfq_quantize__bits_not_signs(z):
    """Returns the bits 0/1 as codes instead of -1/+1."""
    q = (z >= 0).to(z.dtype)
    place = (2 ** torch.arange(z.shape[1])).view((1, -1) + (1,) * (z.dim() - 2))
    return z + (q - z).detach(), (q.long() * place).sum(1)


def lfq_quantize__msb_first(z):
    """Bit order reversed: dim 0 is the most significant bit."""
    q = torch.where(z >= 0, 1.0, -1.0)
    d = z.shape[1]
    place = (2 ** torch.arange(d - 1, -1, -1)).view((1, -1) + (1,) * (z.dim() - 2))
    return z + (q - z).detach(), ((q > 0).long() * place).sum(1)


def lfq_quantize__no_straight_through(z):
    """Returns the sign itself: no gradient reaches the encoder."""
    q = torch.where(z >= 0, 1.0, -1.0)
    place = (2 ** torch.arange(z.shape[1])).view((1, -1) + (1,) * (z.dim() - 2))
    return q, ((q > 0).long() * place).sum(1)


def lfq_quantize__zero_bit_from_z(z):
    """z_hat maps 0 to +1, but the index takes its bits from z > 0 (so 0 gets bit 0)."""
    q = torch.where(z >= 0, 1.0, -1.0)
    place = (2 ** torch.arange(z.shape[1])).view((1, -1) + (1,) * (z.dim() - 2))
    return z + (q - z).detach(), ((z > 0).long() * place).sum(1)


# ---------------------------------------------------------------- lfq_entropy_terms


def lfq_entropy_terms__negated(z, inv_temperature=100.0):
    """Returns -H for both terms (the loss's minus sign moved inside)."""
    d = z.shape[1]
    bits = (torch.arange(2 ** d).unsqueeze(1) >> torch.arange(d)) & 1
    codes = bits.to(z.dtype) * 2 - 1
    p = torch.softmax(2 * inv_temperature * z @ codes.t(), dim=1)
    per = (p * torch.log(p + 1e-12)).sum(1).mean()
    mean_p = p.mean(0)
    return per, (mean_p * torch.log(mean_p + 1e-12)).sum()


def lfq_entropy_terms__swapped(z, inv_temperature=100.0):
    """Returns (codebook entropy, per-sample entropy): the two terms swapped."""
    d = z.shape[1]
    bits = (torch.arange(2 ** d).unsqueeze(1) >> torch.arange(d)) & 1
    codes = bits.to(z.dtype) * 2 - 1
    p = torch.softmax(2 * inv_temperature * z @ codes.t(), dim=1)
    per = -(p * torch.log(p + 1e-12)).sum(1).mean()
    mean_p = p.mean(0)
    return -(mean_p * torch.log(mean_p + 1e-12)).sum(), per


def lfq_entropy_terms__no_factor_two(z, inv_temperature=100.0):
    """Logits inv_temperature * z C^T: the factor 2 from the squared distance is lost."""
    d = z.shape[1]
    bits = (torch.arange(2 ** d).unsqueeze(1) >> torch.arange(d)) & 1
    codes = bits.to(z.dtype) * 2 - 1
    p = torch.softmax(inv_temperature * z @ codes.t(), dim=1)
    per = -(p * torch.log(p + 1e-12)).sum(1).mean()
    mean_p = p.mean(0)
    return per, -(mean_p * torch.log(mean_p + 1e-12)).sum()


def lfq_entropy_terms__log2(z, inv_temperature=100.0):
    """Entropies in bits (log2) instead of nats."""
    d = z.shape[1]
    bits = (torch.arange(2 ** d).unsqueeze(1) >> torch.arange(d)) & 1
    codes = bits.to(z.dtype) * 2 - 1
    p = torch.softmax(2 * inv_temperature * z @ codes.t(), dim=1)
    per = -(p * torch.log2(p + 1e-12)).sum(1).mean()
    mean_p = p.mean(0)
    return per, -(mean_p * torch.log2(mean_p + 1e-12)).sum()


def lfq_entropy_terms__hardcoded_temperature(z, inv_temperature=100.0):
    """Uses 100 whatever inv_temperature is passed."""
    d = z.shape[1]
    bits = (torch.arange(2 ** d).unsqueeze(1) >> torch.arange(d)) & 1
    codes = bits.to(z.dtype) * 2 - 1
    p = torch.softmax(2 * 100.0 * z @ codes.t(), dim=1)
    per = -(p * torch.log(p + 1e-12)).sum(1).mean()
    mean_p = p.mean(0)
    return per, -(mean_p * torch.log(mean_p + 1e-12)).sum()


# ---------------------------------------------------------------- quiz

answer_q1__a = "a"
answer_q1__b = "b"
answer_q2__a = "a"
answer_q2__d = "d"
answer_q3__a = "a"
answer_q3__c = "c"


# The learner who imports lessonlib's reference instead of writing the function: every
# graded test cell must reject it (lessonlib.checks.provenance).
from lessonlib.quantizers.fsq import (
    fsq_indices_to_codes as fsq_indices_to_codes__imported_reference,  # noqa: E402
)
from lessonlib.quantizers.fsq import fsq_quantize as fsq_quantize__imported_reference  # noqa: E402
from lessonlib.quantizers.lfq import lfq_entropy_terms as lfq_entropy_terms__imported_reference  # noqa: E402
from lessonlib.quantizers.lfq import lfq_quantize as lfq_quantize__imported_reference  # noqa: E402

MESSAGES = {
    "fsq_quantize__no_half_shift": "no half shift",
    "fsq_quantize__scaled_by_half_L": r"\(L-1\)/2, not L/2",
    "fsq_quantize__no_straight_through": "no gradient|straight-through",
    "fsq_quantize__dim0_most_significant": "least significant",
    "fsq_quantize__inclusive_cumprod": "cumulative product",
    "fsq_indices_to_codes__dim0_most_significant": "least significant",
    "fsq_indices_to_codes__digits_not_centred": "digits 0..L-1",
    "fsq_indices_to_codes__integer_offset": "not L // 2",
    "fsq_indices_to_codes__channels_last": "dim 1",
    "lfq_quantize__torch_sign": r"sign\(0\)",
    "lfq_quantize__bits_not_signs": "bits 0 and 1",
    "lfq_quantize__msb_first": "least significant",
    "lfq_quantize__no_straight_through": "no gradient",
    "lfq_quantize__zero_bit_from_z": r"z = 0 counts as \+1",
    "lfq_entropy_terms__negated": "-H",
    "lfq_entropy_terms__swapped": "swapped",
    "lfq_entropy_terms__no_factor_two": "dropped the factor 2",
    "lfq_entropy_terms__log2": "log2",
    "lfq_entropy_terms__hardcoded_temperature": "ignored the inv_temperature",
}

"""Quantizers: continuous encoder outputs -> discrete tokens.

common (QuantizerOutput, the output every quantizer returns; to_rows / from_rows), vq
(nearest_code, vq_straight_through, VectorQuantizer), codebook (codebook_usage,
codebook_perplexity, ema_codebook_update, revive_dead_codes, codebook_from_data), ema
(EMAVectorQuantizer), fsq (FSQ and its grid / index functions), lfq (LFQ, its codes and
entropy terms).
Every quantizer module has a `num_codes` attribute: its codebook size K.
"""

from lessonlib.quantizers.codebook import (
    codebook_from_data,
    codebook_perplexity,
    codebook_usage,
    ema_codebook_update,
    revive_dead_codes,
)
from lessonlib.quantizers.common import QuantizerOutput, from_rows, to_rows
from lessonlib.quantizers.ema import EMAVectorQuantizer
from lessonlib.quantizers.fsq import (
    FSQ,
    fsq_codebook,
    fsq_codes_to_indices,
    fsq_indices_to_codes,
    fsq_levels,
    fsq_quantize,
    implicit_codebook_size,
)
from lessonlib.quantizers.lfq import LFQ, lfq_codebook, lfq_entropy_terms, lfq_quantize
from lessonlib.quantizers.vq import VectorQuantizer, nearest_code, vq_straight_through

__all__ = [
    "FSQ", "LFQ", "EMAVectorQuantizer", "QuantizerOutput", "VectorQuantizer",
    "codebook_from_data", "codebook_perplexity", "codebook_usage", "ema_codebook_update",
    "from_rows",
    "fsq_codebook", "fsq_codes_to_indices", "fsq_indices_to_codes", "fsq_levels",
    "fsq_quantize", "implicit_codebook_size", "lfq_codebook", "lfq_entropy_terms",
    "lfq_quantize", "nearest_code", "revive_dead_codes", "to_rows", "vq_straight_through",
]

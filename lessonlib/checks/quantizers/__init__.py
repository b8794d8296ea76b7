"""Public checks for lessonlib.quantizers, one module per reference module."""

from lessonlib.checks.quantizers.codebook import (
    check_codebook_perplexity,
    check_codebook_usage,
    check_ema_codebook_update,
    check_revive_dead_codes,
)
from lessonlib.checks.quantizers.fsq import check_fsq_indices_to_codes, check_fsq_quantize
from lessonlib.checks.quantizers.lfq import check_lfq_entropy_terms, check_lfq_quantize
from lessonlib.checks.quantizers.vq import (
    check_sends_gradient,
    check_vector_quantizer,
    check_vq_straight_through,
)

__all__ = ["check_codebook_perplexity", "check_codebook_usage", "check_ema_codebook_update",
           "check_fsq_indices_to_codes", "check_fsq_quantize", "check_lfq_entropy_terms",
           "check_lfq_quantize", "check_revive_dead_codes", "check_sends_gradient",
           "check_vector_quantizer", "check_vq_straight_through"]

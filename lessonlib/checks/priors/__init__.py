"""Public checks for lessonlib.priors, one module per reference module."""

from lessonlib.checks.priors.frechet import check_frechet_distance
from lessonlib.checks.priors.gumbel import check_gumbel_softmax
from lessonlib.checks.priors.maskgit import check_confidence_mask, check_maskgit_num_masked
from lessonlib.checks.priors.masks import check_causal_mask
from lessonlib.checks.priors.scoring import check_bits_per_token

__all__ = ["check_bits_per_token", "check_causal_mask", "check_confidence_mask",
           "check_frechet_distance", "check_gumbel_softmax", "check_maskgit_num_masked"]

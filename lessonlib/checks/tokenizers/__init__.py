"""Public checks for lessonlib.tokenizers, one module per reference module."""

from lessonlib.checks.tokenizers.adversarial import check_adaptive_weight, check_hinge_d_loss
from lessonlib.checks.tokenizers.patchgan import check_receptive_field
from lessonlib.checks.tokenizers.perceptual import check_feature_distance
from lessonlib.checks.tokenizers.video import check_video_latent_shape

__all__ = [
    "check_adaptive_weight", "check_feature_distance", "check_hinge_d_loss",
    "check_receptive_field", "check_video_latent_shape",
]

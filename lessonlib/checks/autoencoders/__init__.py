"""Public checks for lessonlib.autoencoders, one module per reference module."""

from lessonlib.checks.autoencoders.gaussian import (
    check_iwae_bound,
    check_jensen,
    check_kl_standard_normal,
    check_reparam_gradients,
    check_reparameterize,
)
from lessonlib.checks.autoencoders.interpolation import check_interpolate
from lessonlib.checks.autoencoders.latent_scale import check_latent_scale_factor
from lessonlib.checks.autoencoders.rate_distortion import check_gaussian_rate_distortion
from lessonlib.checks.autoencoders.shapes import check_compression_ratio, check_conv_out_size
from lessonlib.checks.autoencoders.vae_objective import (
    check_active_units,
    check_kl_anneal_beta,
    check_vae_loss,
)

__all__ = [
    "check_active_units", "check_compression_ratio", "check_conv_out_size",
    "check_gaussian_rate_distortion", "check_interpolate", "check_iwae_bound", "check_jensen",
    "check_kl_anneal_beta", "check_kl_standard_normal", "check_latent_scale_factor",
    "check_reparam_gradients", "check_reparameterize", "check_vae_loss",
]

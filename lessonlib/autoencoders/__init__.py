"""Autoencoders with continuous latents: the plain autoencoder and the VAE.

shapes (compression_ratio, conv_out_size), shape_trace (trace_shapes), pca (PCA, the
optimal linear autoencoder), conv (ConvEncoder, ConvDecoder, ConvAutoencoder),
interpolation (interpolate), reconstruction (reconstruction_nll, the per-example negative
log-likelihood; reconstruction_errors; nearest_distance), gaussian (reparameterize,
kl_standard_normal, log_normal_diag, iwae_bound), vae_objective (vae_loss, kl_anneal_beta,
active_units, aggregate_mismatch), vae_evaluation (evaluate_vae, iwae_log_weights,
VAESnapshot, snapshot), mlp_vae (MLPVAE), linear_gaussian (LinearGaussian: exact log p(x)),
score_function (pathwise vs score-function gradients), disentanglement (MIG). In the wild:
kl_autoencoder (KLAutoencoder: the Stable-Diffusion-style VAE, 8x downsampling, 4 channels),
latent_scale (latent_scale_factor, the published factors), rate_distortion
(gaussian_rate_distortion, water_filling), perception_distortion (the exact trade-off on the
linear Gaussian model).
"""

from lessonlib.autoencoders.conv import ConvAutoencoder, ConvDecoder, ConvEncoder
from lessonlib.autoencoders.gaussian import (
    iwae_bound,
    kl_standard_normal,
    log_normal_diag,
    reparameterize,
)
from lessonlib.autoencoders.interpolation import interpolate
from lessonlib.autoencoders.kl_autoencoder import KLAutoencoder, KLDecoder, KLEncoder, gaussian_kl
from lessonlib.autoencoders.latent_scale import PUBLISHED, latent_scale_factor
from lessonlib.autoencoders.mlp_vae import MLPVAE
from lessonlib.autoencoders.pca import PCA
from lessonlib.autoencoders.rate_distortion import (
    gaussian_rate_distortion,
    gaussian_rate_for_distortion,
    rate_distortion_curve,
    water_filling,
)
from lessonlib.autoencoders.reconstruction import (
    nearest_distance,
    reconstruction_errors,
    reconstruction_nll,
)
from lessonlib.autoencoders.shape_trace import trace_shapes
from lessonlib.autoencoders.shapes import compression_ratio, conv_out_size
from lessonlib.autoencoders.vae_evaluation import (
    VAESnapshot,
    evaluate_vae,
    iwae_log_weights,
    snapshot,
)
from lessonlib.autoencoders.vae_objective import (
    active_units,
    aggregate_mismatch,
    kl_anneal_beta,
    kl_per_dim,
    vae_loss,
)

__all__ = [
    "ConvAutoencoder", "ConvDecoder", "ConvEncoder", "KLAutoencoder", "KLDecoder", "KLEncoder",
    "MLPVAE", "PCA", "PUBLISHED", "VAESnapshot", "active_units", "aggregate_mismatch",
    "compression_ratio", "conv_out_size", "evaluate_vae", "gaussian_kl",
    "gaussian_rate_distortion", "gaussian_rate_for_distortion", "interpolate", "iwae_bound",
    "iwae_log_weights", "kl_anneal_beta", "kl_per_dim", "kl_standard_normal",
    "latent_scale_factor", "log_normal_diag", "nearest_distance", "rate_distortion_curve",
    "reconstruction_errors", "reconstruction_nll", "reparameterize", "snapshot", "trace_shapes",
    "vae_loss", "water_filling",
]

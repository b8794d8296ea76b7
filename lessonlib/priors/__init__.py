"""Priors over tokens: sampling discrete choices, generating token grids, scoring the images.

gumbel (gumbel_softmax, gumbel_noise, gumbel_max_sample), categorical_gradients (REINFORCE
against Gumbel-softmax estimates), dvae (GumbelQuantizer: DALL-E 1's bottleneck,
anneal_temperature, kl_to_uniform), masks (causal_mask), transformer (TokenTransformer: a
causal or bidirectional transformer over a token grid, class token first), training
(train_prior: AdamW, warm-up + cosine, class dropout), autoregressive (ar_loss, ar_logits,
sample_autoregressive with a key/value cache, classifier-free guidance), maskgit
(maskgit_num_masked, confidence_mask, cosine_mask, maskgit_loss, maskgit_decode), scoring
(bits_per_token and the count baselines), frechet (frechet_distance and feature
statistics), unet (UNetLike: the shape of a diffusion U-Net, for counting its cost). The judge
of generated digits is lessonlib.tokenizers.feature_net's FeatureNet, the course's one small
classifier.
"""

from lessonlib.priors.autoregressive import (
    ar_logits,
    ar_loss,
    guided_logits,
    sample_autoregressive,
)
from lessonlib.priors.categorical_gradients import (
    bias_and_variance,
    exact_gradient,
    gumbel_estimates,
    reinforce_estimates,
)
from lessonlib.priors.dvae import GumbelQuantizer, anneal_temperature, kl_to_uniform
from lessonlib.priors.frechet import (
    feature_statistics,
    frechet_distance,
    frechet_distance_of,
    trace_sqrt_product,
)
from lessonlib.priors.gumbel import (
    category_frequencies,
    gumbel_max_sample,
    gumbel_noise,
    gumbel_softmax,
)
from lessonlib.priors.maskgit import (
    confidence_mask,
    cosine_mask,
    maskgit_decode,
    maskgit_loss,
    maskgit_num_masked,
)
from lessonlib.priors.masks import causal_mask
from lessonlib.priors.scoring import (
    baseline_logits,
    bits_per_token,
    marginal_log_probs,
    position_log_probs,
    sample_positions,
)
from lessonlib.priors.training import train_prior
from lessonlib.priors.transformer import TokenTransformer, count_parameters
from lessonlib.priors.unet import UNetLike

__all__ = [
    "GumbelQuantizer", "TokenTransformer", "UNetLike", "anneal_temperature",
    "ar_logits", "ar_loss", "baseline_logits", "bias_and_variance", "bits_per_token",
    "category_frequencies", "causal_mask",
    "confidence_mask", "cosine_mask", "count_parameters", "exact_gradient",
    "feature_statistics", "frechet_distance", "frechet_distance_of", "guided_logits",
    "gumbel_estimates", "gumbel_max_sample", "gumbel_noise", "gumbel_softmax",
    "kl_to_uniform", "marginal_log_probs", "maskgit_decode", "maskgit_loss",
    "maskgit_num_masked", "position_log_probs", "reinforce_estimates",
    "sample_autoregressive", "sample_positions", "trace_sqrt_product", "train_prior",
]

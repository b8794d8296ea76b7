"""Diagonal Gaussians: sampling with the reparameterization trick, KL to N(0, I), IWAE.

Reference implementations of what the learner writes in the VAE chapters.
"""

from __future__ import annotations

import math

import torch


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with sigma = exp(logvar / 2), eps ~ N(0, I). Shapes: [B, D]."""
    std = torch.exp(0.5 * logvar)  # [B, D]
    eps = torch.randn_like(std)  # [B, D]
    return mu + std * eps


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, summed over dims: [B, D] -> [B]."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=-1)


def iwae_bound(log_w: torch.Tensor) -> torch.Tensor:
    """log (1/K) sum_k w_k from log weights [K, B] -> [B] (K = 1 gives the ELBO)."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])

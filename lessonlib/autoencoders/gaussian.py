"""Diagonal Gaussians: sampling with the reparameterization trick, KL to N(0, I), IWAE.

Reference implementations of what the learner writes in the VAE chapters, plus the small
Gaussian helpers they lean on (log densities, the pathwise derivatives of one sample).
A diagonal Gaussian is given by `mu` and `logvar = log sigma^2`, both [..., D].
"""

from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


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


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over the last dim: [..., D] -> [...].

    The three arguments broadcast against each other (e.g. z [K, B, D] with mu [B, D]).
    """
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(dim=-1)


def reparam_derivatives(mu: float, sigma: float, eps: float) -> tuple[float, float]:
    """(dz/dmu, dz/dsigma) of z = mu + sigma * eps at one fixed eps, read off autograd.

    The answers are 1 and eps, whatever mu and sigma are: the chain rule through the trick.
    """
    mu_t = torch.tensor(float(mu), dtype=torch.float64, requires_grad=True)
    sigma_t = torch.tensor(float(sigma), dtype=torch.float64, requires_grad=True)
    z = mu_t + sigma_t * float(eps)
    z.backward()
    return float(mu_t.grad), float(sigma_t.grad)

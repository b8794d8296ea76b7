"""The VAE training objective: negative ELBO with beta, free bits, KL annealing, active units.

Reference implementations of what the learner writes when training a VAE:

    loss, recon, kl = vae_loss(x, logits, mu, logvar, beta=1.0, free_bits=0.0)
    beta = kl_anneal_beta(step, anneal_steps, beta_max)   # linear warm-up
    n_active = active_units(mu)                            # dims the encoder uses

Conventions (DESIGN.md): every term is a sum over its dimensions (pixels, latent dims) per
example and a mean over the batch, so that `recon + kl` is the negative ELBO in nats per
example and `beta` means what it says.
"""

from __future__ import annotations

import torch

from lessonlib.autoencoders.gaussian import kl_standard_normal
from lessonlib.autoencoders.reconstruction import LIKELIHOODS, reconstruction_nll


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_j, exp(logvar_j)) || N(0, 1)) of each latent dim: [B, D] -> [B, D]."""
    return kl_standard_normal(mu.unsqueeze(-1), logvar.unsqueeze(-1))  # [B, D]


def vae_loss(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             likelihood: str = "bernoulli", beta: float = 1.0, free_bits: float = 0.0):
    """Negative (beta-)ELBO of a batch: returns (loss, recon, kl), three scalar tensors.

    x [B, ...] data (e.g. [B, 1, 28, 28]); logits [B, P] decoder output (P pixels);
    mu, logvar [B, D] the encoder's Gaussian, logvar = log sigma^2.

    recon = mean over the batch of the per-example sum of -log p(x | z);
    kl    = mean over the batch of the per-example sum over dims of the closed-form KL
            (always the true, unclamped KL);
    loss  = recon + beta * sum_j max(free_bits, mean over the batch of KL_j): free bits
            (Kingma et al. 2016) clamp each dim's batch-mean KL from below, so a dim
            whose average KL is under `free_bits` nats costs nothing to use.
    """
    recon = reconstruction_nll(x, logits, likelihood).mean()  # scalar
    kl_dims = kl_per_dim(mu, logvar)  # [B, D]
    kl = kl_dims.sum(dim=1).mean()  # scalar: the true KL
    kl_dim_mean = kl_dims.mean(dim=0)  # [D]: each dim's KL averaged over the batch
    kl_term = torch.clamp(kl_dim_mean, min=free_bits).sum() if free_bits > 0 else kl
    loss = recon + beta * kl_term
    return loss, recon, kl


def kl_anneal_beta(step: int, anneal_steps: int, beta_max: float = 1.0) -> float:
    """Linear KL warm-up: beta grows from 0 at step 0 to beta_max at `anneal_steps`, then stays.

    anneal_steps = 0 means no warm-up (beta_max from the first step).
    """
    if anneal_steps <= 0:
        return float(beta_max)
    return float(min(beta_max, beta_max * step / anneal_steps))


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> int:
    """How many latent dims the encoder uses (Burda et al. 2016): mu [N, D] -> int.

    A dim is active when the variance of its posterior mean over the N data points
    exceeds `threshold` (strictly): Var_x(E_q[z_j | x]) > threshold.
    """
    variance = mu.detach().var(dim=0)  # [D], over the data
    return int((variance > threshold).sum().item())


def aggregate_mismatch(mu: torch.Tensor, logvar: torch.Tensor) -> float:
    """How far the aggregate posterior q(z) = mean_x q(z|x) is from N(0, I), in nats.

    Fits a full-covariance Gaussian to q(z) by moments (mean of mu; covariance of mu plus
    the mean posterior variance) and returns its KL to N(0, I). 0 means q(z) matches the
    prior to second order; large values mean prior samples land where no data maps (holes).
    """
    mu, var = mu.detach().double(), logvar.detach().double().exp()  # [N, D] each
    mean = mu.mean(dim=0)  # [D]
    cov = torch.cov(mu.T, correction=0) + torch.diag(var.mean(dim=0))  # [D, D]
    d = mean.shape[0]
    logdet = torch.linalg.slogdet(cov).logabsdet
    return float(0.5 * (torch.trace(cov) + mean @ mean - d - logdet))


__all__ = ["LIKELIHOODS", "active_units", "aggregate_mismatch", "kl_anneal_beta", "kl_per_dim",
           "reconstruction_nll", "vae_loss"]

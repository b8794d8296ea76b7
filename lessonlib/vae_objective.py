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

import math

import torch
import torch.nn.functional as F

from lessonlib.gaussian import kl_standard_normal

LIKELIHOODS = ("bernoulli", "gaussian")


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_j, exp(logvar_j)) || N(0, 1)) of each latent dim: [B, D] -> [B, D]."""
    return kl_standard_normal(mu.unsqueeze(-1), logvar.unsqueeze(-1))  # [B, D]


def reconstruction_nll(x: torch.Tensor, logits: torch.Tensor,
                       likelihood: str = "bernoulli") -> torch.Tensor:
    """-log p(x | z) per example (up to a constant for the Gaussian): [B, ...] -> [B].

    bernoulli: `logits` are pre-sigmoid logits; binary cross-entropy computed from logits
               (stable for any logit, no sigmoid followed by log).
    gaussian:  `logits` is the mean of N(mean, I); the loss is 0.5 * squared error.
    """
    batch = x.shape[0]
    x_flat = x.reshape(batch, -1)  # [B, P]
    out = logits.reshape(batch, -1)  # [B, P]
    if likelihood == "bernoulli":
        nll = F.binary_cross_entropy_with_logits(out, x_flat, reduction="none")  # [B, P]
    elif likelihood == "gaussian":
        nll = 0.5 * (out - x_flat).pow(2)  # [B, P]
    else:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    return nll.sum(dim=1)  # [B]


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


@torch.no_grad()
def evaluate_vae(model, x: torch.Tensor, *, seed: int = 0, batch_size: int = 500) -> dict:
    """Test figures of a Bernoulli VAE on binary data x [N, ...], one z sample per example.

    `model(x)` must return (logits [B, P], mu [B, D], logvar [B, D], z). The sampling noise
    comes from a private seed, so the figures are reproducible and the global random state
    is left as it was. Returns recon, kl and nelbo (nats per example, floats), kl_dims [D]
    (batch-mean KL per dim), active (active units) and mu [N, D].
    """
    was_training = model.training
    model.eval()
    recon, mus, kl_dims = [], [], []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            logits, mu, logvar, _ = model(xb)
            recon.append(reconstruction_nll(xb, logits))  # [b]
            kl_dims.append(kl_per_dim(mu, logvar))  # [b, D]
            mus.append(mu)
    model.train(was_training)
    recon_t, kl_t, mu_t = torch.cat(recon), torch.cat(kl_dims), torch.cat(mus)
    kl_per = kl_t.mean(dim=0)  # [D]
    return {"recon": float(recon_t.mean()), "kl": float(kl_per.sum()),
            "nelbo": float(recon_t.mean() + kl_per.sum()), "kl_dims": kl_per,
            "active": active_units(mu_t), "mu": mu_t}


@torch.no_grad()
def iwae_log_weights(model, x: torch.Tensor, k: int, *, seed: int = 0) -> torch.Tensor:
    """log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x), z_k ~ q(z | x): -> [K, B].

    For a Bernoulli decoder with `model.encode(x) -> (mu, logvar)` and
    `model.decode(z) -> logits`; feed the result to an IWAE bound (logsumexp over K - log K).
    """
    was_training = model.training
    model.eval()
    mu, logvar = model.encode(x)  # [B, D] each
    std = torch.exp(0.5 * logvar)  # [B, D]
    gen = torch.Generator(device=mu.device).manual_seed(seed)
    eps = torch.randn((k, *mu.shape), generator=gen, device=mu.device)  # [K, B, D]
    z = mu + std * eps  # [K, B, D]
    logits = model.decode(z.reshape(-1, mu.shape[1]))  # [K*B, P]
    x_rep = x.reshape(1, x.shape[0], -1).expand(k, -1, -1).reshape(k * x.shape[0], -1)
    log_px_z = -F.binary_cross_entropy_with_logits(logits, x_rep, reduction="none").sum(1)
    log_2pi = math.log(2 * math.pi)
    log_pz = -0.5 * (z.pow(2) + log_2pi).sum(dim=-1)  # [K, B]
    log_qz = -0.5 * (eps.pow(2) + logvar + log_2pi).sum(dim=-1)  # [K, B]
    model.train(was_training)
    return log_px_z.reshape(k, -1) + log_pz - log_qz  # [K, B]

"""Evaluating a trained VAE: the test figures (one function) and a snapshot for the views.

    ev = evaluate_vae(model, x_test)        # recon, kl, nelbo, kl_dims, active, mu, logvar
    s = snapshot(model, x_test, labels, x_show, beta=4.0)   # ev + pictures, for a slider
    log_w = iwae_log_weights(model, x, k=50)                # [K, B], for an IWAE bound

The model follows lessonlib.autoencoders.mlp_vae.MLPVAE's interface: `model(x)` returns
(logits, mu, logvar, z), `model.encode(x)` -> (mu, logvar), `model.decode(z)` -> logits of
a Bernoulli decoder. Every function runs the model in eval mode (and restores its mode) on
the model's device, returns CPU tensors, and draws its noise on the CPU from a private seed:
figures are reproducible, the same on any device, and the global random state is left as
it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lessonlib.autoencoders.gaussian import log_normal_diag
from lessonlib.autoencoders.reconstruction import reconstruction_nll
from lessonlib.autoencoders.vae_objective import active_units, aggregate_mismatch, kl_per_dim
from lessonlib.core.device import model_device
from lessonlib.core.training import eval_mode


@torch.no_grad()
def evaluate_vae(model, x: torch.Tensor, *, seed: int = 0, batch_size: int = 500) -> dict:
    """Test figures of a Bernoulli VAE on binary data x [N, ...], one z sample per example.

    Returns recon, kl and nelbo (nats per example, floats), kl_dims [D] (batch-mean KL per
    dim), active (active units), mu [N, D] and logvar [N, D].
    """
    recon, mus, logvars = [], [], []
    device, gen = model_device(model), torch.Generator().manual_seed(seed)
    with eval_mode(model):
        for xb in x.split(batch_size):
            xb = xb.to(device)
            mu, logvar = model.encode(xb)  # [b, D] each
            eps = torch.randn(mu.shape, generator=gen).to(device)  # drawn on the CPU
            z = mu + torch.exp(0.5 * logvar) * eps  # [b, D]
            recon.append(reconstruction_nll(xb, model.decode(z)).cpu())  # [b]
            mus.append(mu.cpu())
            logvars.append(logvar.cpu())
    recon_t, mu_t, logvar_t = torch.cat(recon), torch.cat(mus), torch.cat(logvars)
    kl_dims = kl_per_dim(mu_t, logvar_t).mean(dim=0)  # [D]
    return {"recon": float(recon_t.mean()), "kl": float(kl_dims.sum()),
            "nelbo": float(recon_t.mean() + kl_dims.sum()), "kl_dims": kl_dims,
            "active": active_units(mu_t), "mu": mu_t, "logvar": logvar_t}


@torch.no_grad()
def iwae_log_weights(model, x: torch.Tensor, k: int, *, seed: int = 0) -> torch.Tensor:
    """log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x), z_k ~ q(z | x): -> [K, B].

    Feed the result to an IWAE bound (logsumexp over K minus log K).
    """
    device = model_device(model)
    x = x.to(device)
    with eval_mode(model):
        mu, logvar = model.encode(x)  # [B, D] each
        gen = torch.Generator().manual_seed(seed)
        eps = torch.randn((k, *mu.shape), generator=gen).to(device)  # [K, B, D], CPU draw
        z = mu + torch.exp(0.5 * logvar) * eps  # [K, B, D]
        logits = model.decode(z.reshape(-1, mu.shape[1]))  # [K*B, P]
        x_rep = x.reshape(1, x.shape[0], -1).expand(k, -1, -1).reshape(k * x.shape[0], -1)
        log_px_z = -reconstruction_nll(x_rep, logits).reshape(k, -1)  # [K, B]
    log_pz = log_normal_diag(z, torch.zeros_like(mu), torch.zeros_like(logvar))  # [K, B]
    log_qz = log_normal_diag(z, mu, logvar)  # [K, B]
    return (log_px_z + log_pz - log_qz).cpu()


@dataclass(frozen=True)
class VAESnapshot:
    """One trained VAE as the views draw it (all on CPU, detached).

    recon, kl: test reconstruction and KL in nats per example; kl_dims [D]: test KL per
    latent dim; active: active units; mismatch: KL(moment-matched q(z) || N(0, I)) in nats;
    reconstructions [n, C, H, W] and samples [m, C, H, W] are pixel probabilities;
    z2 [P, 2]: the posterior means of the two most-used dims, labels [P] their digits.
    """

    label: str
    beta: float
    recon: float
    kl: float
    kl_dims: torch.Tensor
    active: int
    mismatch: float
    reconstructions: torch.Tensor
    samples: torch.Tensor
    z2: torch.Tensor
    labels: torch.Tensor

    @property
    def negative_elbo(self) -> float:
        """recon + KL: the beta = 1 objective, a bound on -log p(x) whatever beta trained it."""
        return self.recon + self.kl


@torch.no_grad()
def snapshot(model, x_eval: torch.Tensor, labels: torch.Tensor, x_show: torch.Tensor, *,
             label: str = "", beta: float = 1.0, n_samples: int = 16, seed: int = 0,
             z_prior: torch.Tensor | None = None) -> VAESnapshot:
    """Evaluate a VAE once (evaluate_vae) on binary test data x_eval [N, ...] and keep what
    the views draw.

    labels [N] colour the latent scatter; x_show [n, C, H, W] are the digits reconstructed
    (decoder mean at z = mu); prior samples decode z_prior [m, D] if given, else n_samples
    draws of N(0, I) from `seed`.
    """
    ev = evaluate_vae(model, x_eval, seed=seed)
    mu = ev["mu"]  # [N, D]
    top2 = mu.var(dim=0).topk(2).indices  # the two dims that vary most
    image_shape = x_show.shape[1:]
    if z_prior is None:
        gen = torch.Generator().manual_seed(seed)
        z_prior = torch.randn(n_samples, mu.shape[1], generator=gen)  # [m, D]
    device = model_device(model)
    with eval_mode(model):
        reconstructions = torch.sigmoid(model.decode(model.encode(x_show.to(device))[0])).cpu()
        samples = torch.sigmoid(model.decode(z_prior.to(device))).cpu()
    return VAESnapshot(label=label, beta=float(beta), recon=ev["recon"], kl=ev["kl"],
                       kl_dims=ev["kl_dims"], active=ev["active"],
                       mismatch=aggregate_mismatch(mu, ev["logvar"]),
                       reconstructions=reconstructions.reshape(-1, *image_shape),
                       samples=samples.reshape(-1, *image_shape),
                       z2=mu[:, top2][:600].clone(), labels=labels[:600].clone())

"""Views of trained VAEs across beta: sharpness (reconstructions) vs structure (the prior).

Everything here draws precomputed state: no model is run inside a render call. A run is a
`VAESnapshot` (see `snapshot`), computed once per trained model in the notebook.

    render_beta_tradeoff(i, snapshots=..., originals=...)   # the beta slider, one model
    render_vae_runs({"beta = 0": s0, ...}, originals=...)   # side-by-side diagnosis panel
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from lessonlib.plots import to_grid
from lessonlib.vae_objective import active_units, aggregate_mismatch, kl_per_dim


@dataclass(frozen=True)
class VAESnapshot:
    """What the views need from one trained VAE (all on CPU, detached).

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


@torch.no_grad()
def snapshot(model, x_eval: torch.Tensor, labels: torch.Tensor, x_show: torch.Tensor, *,
             label: str = "", beta: float = 1.0, n_samples: int = 16,
             seed: int = 0) -> VAESnapshot:
    """Evaluate a VAE (encode / decode) once on binary test data x_eval [N, C, H, W].

    labels [N] colour the latent scatter; x_show [n, C, H, W] are the digits reconstructed.
    """
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    mu, logvar = model.encode(x_eval)  # [N, D] each
    std = torch.exp(0.5 * logvar)  # [N, D]
    z = mu + std * torch.randn(mu.shape, generator=gen)  # [N, D]
    logits = model.decode(z)  # [N, P]
    x_flat = x_eval.reshape(len(x_eval), -1)  # [N, P]
    recon = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, x_flat, reduction="none").sum(dim=1).mean()
    kl_dims = kl_per_dim(mu, logvar).mean(dim=0)  # [D]
    top2 = mu.var(dim=0).topk(2).indices  # the two dims that vary most
    mu_show, _ = model.encode(x_show)  # [n, D]
    image_shape = x_show.shape[1:]
    reconstructions = torch.sigmoid(model.decode(mu_show)).reshape(-1, *image_shape)
    z_prior = torch.randn(n_samples, mu.shape[1], generator=gen)  # [m, D]
    samples = torch.sigmoid(model.decode(z_prior)).reshape(-1, *image_shape)
    model.train(was_training)
    return VAESnapshot(label=label, beta=float(beta), recon=float(recon),
                       kl=float(kl_dims.sum()), kl_dims=kl_dims, active=active_units(mu),
                       mismatch=aggregate_mismatch(mu, logvar),
                       reconstructions=reconstructions, samples=samples,
                       z2=mu[:, top2][:600].clone(), labels=labels[:600].clone())


def _images(ax, images: torch.Tensor, nrow: int, title: str) -> None:
    grid = to_grid(images, nrow)
    ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xticks([])
    ax.set_yticks([])


def _beta_axis(betas: list[float]) -> np.ndarray:
    """Positions on a symlog-like axis that also places beta = 0."""
    return np.array([np.log10(b) if b > 0 else np.log10(min(x for x in betas if x > 0)) - 1
                     for b in betas])


def render_beta_tradeoff(index: int, *, snapshots: list[VAESnapshot],
                         originals: torch.Tensor) -> Figure:
    """The beta slider: reconstructions, prior samples, the latent space, and the two terms.

    index selects snapshots[index]; originals [n, 1, 28, 28] are the digits reconstructed.
    """
    s = snapshots[index]
    fig = plt.figure(figsize=(10, 5.4))
    n = len(originals)
    _images(fig.add_axes([0.02, 0.78, 0.55, 0.16]), originals, n, "test digits")
    _images(fig.add_axes([0.02, 0.58, 0.55, 0.16]), s.reconstructions, n,
            "reconstructions (decoder mean at z = mu): sharpness")
    _images(fig.add_axes([0.02, 0.06, 0.55, 0.46]), s.samples, 8,
            "samples from the prior, z ~ N(0, I): does every code decode to a digit?")

    ax = fig.add_axes([0.64, 0.64, 0.33, 0.28])
    betas = [t.beta for t in snapshots]
    pos = _beta_axis(betas)
    ax.plot(pos, [t.recon for t in snapshots], "o-", color="tab:blue", label="recon (nats)")
    ax.plot(pos, [t.kl for t in snapshots], "s-", color="tab:orange", label="KL (nats)")
    ax.axvline(pos[index], color="k", lw=0.8, ls=":")
    ax.set_xticks(pos)
    ax.set_xticklabels([f"{b:g}" for b in betas], fontsize=8)
    ax.set_xlabel("beta", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, loc="center right", frameon=False)
    ax.set_title(f"beta = {s.beta:g}: recon {s.recon:.1f}, KL {s.kl:.1f}, "
                 f"{s.active} active dims", fontsize=9)

    ax = fig.add_axes([0.66, 0.06, 0.29, 0.40])
    z2 = s.z2.numpy()
    ax.scatter(z2[:, 0], z2[:, 1], c=s.labels.numpy(), cmap="tab10", s=5, vmin=-0.5,
               vmax=9.5, alpha=0.8, linewidths=0)
    t = np.linspace(0, 2 * np.pi, 100)
    ax.plot(2 * np.cos(t), 2 * np.sin(t), "k--", lw=0.8)
    lim = max(3.0, float(np.abs(z2).max()) * 1.05)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    ax.set_title(f"mu of test digits, 2 busiest dims (dashed: prior 2 sigma)\n"
                 f"q(z) vs prior mismatch: {s.mismatch:.1f} nats", fontsize=8)
    return fig


def render_vae_runs(runs: dict[str, VAESnapshot], *, originals: torch.Tensor) -> Figure:
    """One row per run: reconstructions, prior samples, KL per latent dim (sorted)."""
    fig, axes = plt.subplots(len(runs), 3, figsize=(11, 1.6 * len(runs) + 0.3),
                             squeeze=False, gridspec_kw={"width_ratios": [1.6, 1.6, 1]})
    n = len(originals)
    top = max(float(s.kl_dims.max()) for s in runs.values())
    for row, (name, s) in zip(axes, runs.items()):
        pair = torch.cat([originals, s.reconstructions[:n]])  # [2n, 1, 28, 28]
        _images(row[0], pair, n, f"{name}: test digits / reconstructions")
        _images(row[1], s.samples[:2 * n], n, "prior samples")
        kl_sorted = torch.sort(s.kl_dims, descending=True).values.numpy()
        row[2].bar(np.arange(len(kl_sorted)), kl_sorted, color="tab:orange")
        row[2].set_yscale("symlog", linthresh=0.01)
        row[2].set_ylim(0, max(1.0, 2 * top))
        row[2].axhline(0.01, color="k", lw=0.6, ls=":")
        row[2].set_title(f"KL per dim, sorted: total {s.kl:.1f}, {s.active} active",
                         fontsize=9)
        row[2].tick_params(labelsize=7)
    fig.tight_layout()
    return fig

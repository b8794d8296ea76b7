"""Views of trained VAEs across beta: sharpness (reconstructions) vs structure (the prior).

Everything here draws precomputed state: no model is run inside a render call. A run is a
`VAESnapshot` (lessonlib.autoencoders.vae_evaluation.snapshot), computed once per trained
model in the notebook.

    render_beta_tradeoff(i, snapshots=..., originals=...)   # the beta slider, one model
    render_vae_runs({"beta = 0": s0, ...}, originals=...)   # side-by-side diagnosis panel
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from lessonlib.autoencoders.vae_evaluation import VAESnapshot
from lessonlib.views.plots import to_grid


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

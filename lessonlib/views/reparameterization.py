"""The reparameterization slider: samples z = mu + sigma * eps, and where the gradient can flow.

Left: the density of N(mu, sigma^2), a fixed set of noise draws eps ~ N(0, 1) on the lower
line and the samples they become on the upper line (each connector is z = mu + sigma * eps).
Moving mu shifts every sample, moving sigma stretches them about mu; the noise only changes
when `seed` does (the Regenerate button). Right: the computation graph of a VAE's forward
pass, with the backward pass drawn in red: with the trick it reaches mu and sigma, without
it (z drawn by a sampling node) it stops at the sample.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

_X = np.linspace(-9.0, 9.0, 400)


def noise(seed: int, n: int) -> np.ndarray:
    """n standard normal draws, reproducible from `seed`: [n]."""
    return torch.randn(n, generator=torch.Generator().manual_seed(seed),
                       dtype=torch.float64).numpy()


def _density(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def _draw_samples(top: Axes, bottom: Axes, mu: float, sigma: float, eps: np.ndarray,
                  shown: int) -> None:
    """Densities above; below, the noise line, the sample line and their connectors."""
    z = mu + sigma * eps  # [n]
    top.plot(_X, _density(_X, 0.0, 1.0), color="0.7", lw=1, label="N(0, 1): where eps lives")
    top.plot(_X, _density(_X, mu, sigma), color="tab:orange", lw=2,
             label=f"N(mu, sigma^2) = N({mu:.2f}, {sigma:.2f}^2)")
    top.axvline(mu, color="tab:orange", lw=0.8, ls=":")
    top.set_ylim(0, max(0.45, 1.1 / (sigma * math.sqrt(2 * math.pi))))
    top.set_yticks([])
    top.tick_params(labelbottom=False)
    top.legend(fontsize=7, loc="upper right" if mu < 0 else "upper left", frameon=False)
    top.set_title(f"{len(z)} samples: mean {z.mean():.2f} (mu {mu:.2f}), "
                  f"std {z.std(ddof=1):.2f} (sigma {sigma:.2f})", fontsize=9)
    for e, v in zip(eps[:shown], z[:shown]):
        bottom.plot([e, v], [0, 1], color="0.7", lw=0.6)
    bottom.scatter(eps, np.zeros_like(eps), s=9, color="0.45", zorder=3)
    bottom.scatter(z, np.ones_like(z), s=12, color="teal", zorder=3)
    bottom.set_yticks([0, 1], ["eps", "z"], fontsize=9)
    bottom.set_ylim(-0.3, 1.3)
    bottom.set_xlim(-9, 9)
    bottom.set_xlabel("value (the lines join a few eps to the z = mu + sigma * eps they become)",
                      fontsize=8)


def _node(ax: Axes, xy, text: str, color: str = "0.92", edge: str = "0.3") -> None:
    ax.text(*xy, text, ha="center", va="center", fontsize=8.5, zorder=3,
            bbox={"boxstyle": "round,pad=0.35", "fc": color, "ec": edge, "lw": 1})


def _arrow(ax: Axes, start, end, color: str = "0.2", ls: str = "-", shift: float = 0.0,
           shrink: float = 18) -> None:
    """An arrow from start to end, moved sideways by `shift` (perpendicular to it)."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy)
    px, py = -dy / length * shift, dx / length * shift
    ax.annotate("", xy=(end[0] + px, end[1] + py), xytext=(start[0] + px, start[1] + py),
                zorder=2, arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.3,
                                      "ls": ls, "shrinkA": shrink, "shrinkB": shrink})


def _draw_graph(ax: Axes, trick: bool, eps0: float) -> None:
    """Forward pass in black, backward pass (gradients) in red, dashed."""
    red = "tab:red"
    enc, mu_xy, sig_xy = (0.07, 0.5), (0.3, 0.8), (0.3, 0.2)
    z_xy, dec_xy, loss_xy = (0.58, 0.5), (0.83, 0.5), (0.96, 0.5)
    _node(ax, enc, "x\nencoder")
    _node(ax, mu_xy, "mu")
    _node(ax, sig_xy, "sigma")
    _node(ax, dec_xy, "decoder")
    _node(ax, loss_xy, "L")
    for a, b in [(enc, mu_xy), (enc, sig_xy), (mu_xy, z_xy), (sig_xy, z_xy), (z_xy, dec_xy),
                 (dec_xy, loss_xy)]:
        _arrow(ax, a, b)
    _arrow(ax, loss_xy, dec_xy, red, ls="--", shift=-0.06, shrink=10)
    _arrow(ax, dec_xy, z_xy, red, ls="--", shift=-0.07, shrink=24)
    ax.text(0.75, 0.62, "dL/dz", color=red, fontsize=8, ha="center")
    if trick:
        _node(ax, z_xy, "z = mu\n+ sigma * eps", color="#dff2ef", edge="teal")
        eps_xy = (0.58, 0.1)
        _node(ax, eps_xy, "eps ~ N(0, 1): an input", color="white", edge="0.5")
        _arrow(ax, eps_xy, z_xy, color="0.5")
        _arrow(ax, z_xy, mu_xy, red, ls="--", shift=0.05, shrink=22)
        _arrow(ax, z_xy, sig_xy, red, ls="--", shift=-0.05, shrink=22)
        ax.text(0.47, 0.8, "dz/dmu = 1", color=red, fontsize=8.5, ha="left")
        ax.text(0.14, 0.02, f"dz/dsigma = eps = {eps0:.2f}", color=red, fontsize=8.5)
        title = "with the trick: the gradient reaches mu and sigma"
    else:
        _node(ax, z_xy, "z ~ N(mu, sigma^2)\n(a random draw)", color="#fbe3e3", edge=red)
        ax.plot([0.42, 0.42], [0.12, 0.88], color=red, lw=3, zorder=4)
        ax.text(0.42, 0.95, "no derivative through a random draw", color=red, fontsize=8.5,
                ha="center", va="center")
        title = "without the trick: backprop stops at the sample"
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.set_title(title, fontsize=9)


def render_reparameterization(mu: float = 1.0, sigma: float = 0.8, seed: int = 0,
                              trick: bool = True, *, n: int = 60, shown: int = 12) -> Figure:
    """Samples of N(mu, sigma^2) made from fixed noise, and the gradient path of the graph."""
    eps = noise(seed, n)  # [n]
    fig = plt.figure(figsize=(11, 3.8))
    grid = fig.add_gridspec(2, 2, width_ratios=[1.25, 1], height_ratios=[2, 1], left=0.05,
                            right=0.99, bottom=0.13, top=0.92, wspace=0.06, hspace=0.12)
    top = fig.add_subplot(grid[0, 0])
    _draw_samples(top, fig.add_subplot(grid[1, 0], sharex=top), mu, sigma, eps, shown)
    _draw_graph(fig.add_subplot(grid[:, 1]), trick, float(eps[0]))
    return fig

"""The latent-size slider: real digits squeezed through a k-number linear bottleneck (PCA)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from lessonlib.autoencoders.pca import PCA
from lessonlib.views.plots import show_grid


def reconstruction_errors(pca: PCA, x: torch.Tensor, ks: list[int]) -> torch.Tensor:
    """Mean squared error per pixel of x [N, D] reconstructed through k axes, for each k."""
    return torch.stack([(pca.decode(pca.encode(x, k)) - x).pow(2).mean() for k in ks])


def render_linear_bottleneck(k: int, *, pca: PCA, images: torch.Tensor, ks: list[int],
                             errors: torch.Tensor) -> Figure:
    """Originals, their reconstructions through k numbers, and the error-vs-k curve.

    images: [n, 1, H, W] in [0, 1]; ks and errors: the precomputed curve (same length).
    """
    n, _, h, w = images.shape
    x = images.reshape(n, -1)  # [n, D]
    x_hat = pca.decode(pca.encode(x, k)).clamp(0, 1)  # [n, D]
    mse = float((x_hat - x).pow(2).mean())
    d = x.shape[1]
    fig = plt.figure(figsize=(10, 3.4))
    # Fixed margins: tight_layout would cost most of the 200 ms render budget.
    grid = fig.add_gridspec(2, 2, width_ratios=[1.6, 1], left=0.02, right=0.98, bottom=0.15,
                            top=0.85, wspace=0.25, hspace=0.35)
    show_grid(fig.add_subplot(grid[0, 0]), images, n, "original digits (784 numbers each)")
    show_grid(fig.add_subplot(grid[1, 0]), x_hat.reshape(n, 1, h, w), n,
              f"decoded from a latent of {k} numbers")
    ax = fig.add_subplot(grid[:, 1])
    ax.plot(ks, errors.numpy(), color="tab:blue")
    ax.axvline(k, color="tab:orange")
    ax.set_xscale("log")
    ax.set_xlabel("latent size k")
    ax.set_ylabel("reconstruction MSE (test digits)")
    ax.set_title(f"keeps {k}/{d} = {100 * k / d:.1f}% of the numbers\n"
                 f"MSE {mse:.4f}, variance kept {100 * pca.explained(k):.1f}%", fontsize=9)
    return fig

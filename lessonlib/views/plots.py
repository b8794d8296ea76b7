"""Plot helpers that return or draw into matplotlib objects (no global rcParams edits)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def to_grid(images: torch.Tensor, nrow: int, pad: int = 1) -> np.ndarray:
    """Tile images [N, C, H, W] in [0, 1] into one array [rows*(H+pad), nrow*(W+pad), C]."""
    images = images.detach().float().cpu().clamp(0, 1)
    n, c, h, w = images.shape
    rows = -(-n // nrow)
    grid = np.ones((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), dtype=np.float32)
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y:y + h, x:x + w] = images[i].permute(1, 2, 0).numpy()
    return grid


def show_grid(ax: Axes, images: torch.Tensor, nrow: int, title: str = "") -> Axes:
    """Draw a grid of images [N, C, H, W] into `ax`."""
    grid = to_grid(images, nrow)
    if grid.shape[-1] == 1:
        ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(grid)
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    return ax


def image_rows(rows: dict[str, torch.Tensor], ncol: int | None = None,
               width: float = 9.0) -> Figure:
    """One labelled row of images per entry: {label: images [N, C, H, W]}."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(width, 1.1 * len(rows) + 0.4),
                             squeeze=False)
    for ax, (label, images) in zip(axes[:, 0], rows.items()):
        show_grid(ax, images, ncol or images.shape[0])
        ax.set_title(label, fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def latent_scatter(ax: Axes, z: torch.Tensor, labels: torch.Tensor, title: str = "") -> Axes:
    """Scatter 2-D codes z [N, 2] coloured by integer label [N] (digits 0-9)."""
    z = z.detach().cpu().numpy()
    points = ax.scatter(z[:, 0], z[:, 1], c=labels.cpu().numpy(), cmap="tab10", s=4,
                        vmin=-0.5, vmax=9.5)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    return points


def loss_curves(ax: Axes, history: dict[str, list[float]], names: list[str],
                smooth: int = 20) -> Axes:
    """Moving-average curves of logged values over training steps."""
    for name in names:
        values = np.asarray(history[name], dtype=np.float64)
        if smooth > 1 and len(values) > smooth:
            values = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
        ax.plot(values, label=name)
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
    return ax

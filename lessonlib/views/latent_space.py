"""Views of a 2-D latent space: codes coloured by digit, decoded random points, straight paths.

Each trained model is summarised by a `LatentMap` (its codes for some test digits, a decoder
and a way to draw random codes); the render functions only draw and decode a handful of
points, so they stay well under 200 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from lessonlib.views.plots import latent_scatter, show_grid


@dataclass(frozen=True)
class LatentMap:
    """A trained model seen through its 2-D latent space.

    codes:    [N, 2] the codes of N test digits (an autoencoder's z, a VAE's mean mu)
    decode:   z [M, 2] -> images [M, 1, H, W] in [0, 1] (no gradients needed)
    samplers: name -> sampler, where a sampler maps (M, generator) to random codes [M, 2]
              (e.g. {"N(0, I)": ..., "uniform in the code box": ...})
    """

    name: str
    codes: torch.Tensor
    decode: Callable[[torch.Tensor], torch.Tensor]
    samplers: dict[str, Callable[[int, torch.Generator], torch.Tensor]]


def _limits(points: torch.Tensor, margin: float = 0.08) -> tuple[tuple[float, float], ...]:
    """Axis limits that hold every point [N, 2], with a margin."""
    low, high = points.min(0).values, points.max(0).values  # [2], [2]
    pad = (high - low).clamp_min(1e-3) * margin
    return tuple((float(lo - p), float(hi + p)) for lo, hi, p in zip(low, high, pad))


def _prior_circle(ax, radius: float = 2.0) -> None:
    """Dashed circle |z| = radius: about 86% of N(0, I) samples fall inside radius 2."""
    angle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(radius * np.cos(angle), radius * np.sin(angle), "k--", lw=0.8, alpha=0.6)


def _digit_colorbar(fig: Figure, points, axes) -> None:
    bar = fig.colorbar(points, ax=axes, ticks=range(10), fraction=0.025, pad=0.02)
    bar.set_label("digit", fontsize=9)


def render_latent_space(seed: int, sampler: str, *, maps: list[LatentMap],
                        labels: torch.Tensor, n_points: int = 500,
                        n_samples: int = 8) -> Figure:
    """One column per model: a random subset of test codes coloured by digit, with
    `n_samples` random latent points (black crosses, numbered) and their decoded images.

    `seed` picks both the subset of test digits and the random latent points, so pressing
    Regenerate (seed + 1) redraws everything from fresh randomness; `sampler` names the
    entry of each map's `samplers` that draws the points.
    labels: [N] digit of each code (the same N for every map).
    """
    gen = torch.Generator().manual_seed(int(seed))
    n = labels.shape[0]
    subset = torch.randperm(n, generator=gen)[:min(n_points, n)]  # [P]
    fig = plt.figure(figsize=(4.6 * len(maps) + 0.8, 5.5))
    grid = fig.add_gridspec(2, len(maps), height_ratios=[4.2, 1.0], hspace=0.3)
    scatter_axes = []
    for col, latent_map in enumerate(maps):
        z = latent_map.samplers[sampler](n_samples, gen)  # [S, 2]
        images = latent_map.decode(z)  # [S, 1, H, W]
        ax = fig.add_subplot(grid[0, col])
        points = latent_scatter(ax, latent_map.codes[subset], labels[subset],
                                f"{latent_map.name}: {len(subset)} test digits")
        _prior_circle(ax)
        ax.scatter(z[:, 0], z[:, 1], marker="x", c="black", s=40, lw=1.5)
        for i, (z1, z2) in enumerate(z.tolist()):
            ax.annotate(str(i + 1), (z1, z2), xytext=(3, 3), textcoords="offset points",
                        fontsize=8, fontweight="bold")
        (x0, x1), (y0, y1) = _limits(torch.cat([latent_map.codes, z]))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        scatter_axes.append(ax)
        show_grid(fig.add_subplot(grid[1, col]), images, n_samples,
                  f"random points 1-{n_samples} decoded ({sampler})")
    _digit_colorbar(fig, points, scatter_axes)
    fig.suptitle("crosses: random latent points; dashed circle: |z| = 2 (86% of N(0, I))",
                 fontsize=9, y=0.995)
    return fig


def render_latent_path(start_digit: int, end_digit: int, *, maps: list[LatentMap],
                       labels: torch.Tensor, interpolate: Callable, steps: int = 9,
                       example: int = 0) -> Figure:
    """The straight path between two test digits in each model's latent space, and what
    the decoder makes of the points along it.

    Uses the `example`-th test digit of class `start_digit` and of class `end_digit`;
    `interpolate(z1, z2, steps) -> [steps, 2]` draws the path.
    """
    first = int((labels == start_digit).nonzero()[example, 0])
    last = int((labels == end_digit).nonzero()[example, 0])
    fig = plt.figure(figsize=(4.6 * len(maps) + 0.8, 5.4))
    grid = fig.add_gridspec(2, len(maps), height_ratios=[4.2, 0.9], hspace=0.3)
    scatter_axes = []
    for col, latent_map in enumerate(maps):
        z1, z2 = latent_map.codes[first], latent_map.codes[last]  # [2], [2]
        path = interpolate(z1, z2, steps)  # [steps, 2]
        images = latent_map.decode(path)  # [steps, 1, H, W]
        ax = fig.add_subplot(grid[0, col])
        points = latent_scatter(ax, latent_map.codes, labels,
                                f"{latent_map.name}: path {start_digit} -> {end_digit}")
        points.set_alpha(0.35)
        ax.plot(path[:, 0], path[:, 1], "-o", color="black", ms=3, lw=1.2)
        ax.scatter([z1[0], z2[0]], [z1[1], z2[1]], s=90, facecolors="none",
                   edgecolors="black", lw=1.5)
        scatter_axes.append(ax)
        show_grid(fig.add_subplot(grid[1, col]), images, steps,
                  f"decoded along the path ({steps} steps, ends included)")
    _digit_colorbar(fig, points, scatter_axes)
    return fig

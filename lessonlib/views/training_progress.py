"""Reconstructions of several training runs, step by step (precomputed snapshots).

snapshots: {run name: {"steps": [s_0, ...], "images": [N_steps, K, C, H, W],
                       "metrics": {metric name: [N_steps] values}}}
The render draws, for the chosen snapshot index, one row of reconstructions per run (plus
the real images), and one curve per metric with the chosen step marked.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from lessonlib.views.plots import show_grid


def render_training_progress(index: int, *, real: torch.Tensor, snapshots: dict,
                             metrics: tuple[str, ...] = ("psnr", "frechet")) -> Figure:
    """Snapshot `index` of every run: reconstructions beside `real` [K, C, H, W], and the
    chosen metrics over training."""
    names = list(snapshots)
    rows = len(names) + 1
    fig = plt.figure(figsize=(12, 1.05 * rows + 0.6))
    grid = fig.add_gridspec(rows, 1 + len(metrics), width_ratios=[3.2] + [1] * len(metrics))
    show_grid(fig.add_subplot(grid[0, 0]), real, real.shape[0], "real test digits")
    for r, name in enumerate(names, start=1):
        run = snapshots[name]
        k = min(max(index, 0), len(run["steps"]) - 1)
        values = ", ".join(f"{m} {run['metrics'][m][k]:.2f}" for m in metrics)
        show_grid(fig.add_subplot(grid[r, 0]), run["images"][k], real.shape[0],
                  f"{name}, step {run['steps'][k]}: {values}")
    for c, metric in enumerate(metrics, start=1):
        ax = fig.add_subplot(grid[:, c])
        for name in names:
            run = snapshots[name]
            k = min(max(index, 0), len(run["steps"]) - 1)
            line, = ax.plot(run["steps"], run["metrics"][metric], label=name)
            ax.plot([run["steps"][k]], [run["metrics"][metric][k]], "o", color=line.get_color())
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        if c == 1:
            ax.legend(fontsize=7)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.1, top=0.93, wspace=0.3, hspace=0.5)
    return fig

"""Codebook utilization through training: per-code usage bars (dead codes in red) at a
chosen snapshot, beside the fraction of live codes over all snapshots, for each method."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from lessonlib.core.information import perplexity_of_counts
from lessonlib.views.usage_plots import counts_histogram


def render_codebook_usage(snapshot: int, method: str, *, steps, counts: dict,
                          log: bool = False) -> Figure:
    """Usage of every code at training step steps[snapshot] for `method`.

    steps:  [S] training steps at which the snapshots were taken
    counts: method name -> array [S, K] of per-code usage counts on a fixed set of images
    """
    snapshot = int(np.clip(snapshot, 0, len(steps) - 1))
    table = np.asarray(counts[method])  # [S, K]
    k = table.shape[1]
    now = table[snapshot]  # [K]
    fig = plt.figure(figsize=(10, 3.3))
    # fixed margins: tight_layout would cost more than everything else together
    grid = fig.add_gridspec(1, 2, width_ratios=[1.7, 1], left=0.07, right=0.98, bottom=0.15,
                            top=0.84, wspace=0.22)
    ax = fig.add_subplot(grid[0, 0])
    counts_histogram(ax, now, log=log,
                     title=f"{method}, step {steps[snapshot]}: perplexity "
                           f"{perplexity_of_counts(now):.0f} of K = {k}")
    ax = fig.add_subplot(grid[0, 1])
    for name, values in counts.items():
        live = (np.asarray(values) > 0).mean(axis=1)  # [S]
        ax.plot(steps, 100 * live, lw=2.5 if name == method else 1.2,
                alpha=1.0 if name == method else 0.6, label=name)
    ax.axvline(steps[snapshot], color="0.3", ls="--", lw=1)
    ax.axhline(90, color="tab:green", ls=":", lw=1)
    ax.set_ylim(0, 102)
    ax.set_xlabel("training step")
    ax.set_ylabel("codes in use (%)")
    ax.set_title("live codes over training (dotted: 90%)", fontsize=9)
    ax.legend(fontsize=8, loc="center right")
    return fig

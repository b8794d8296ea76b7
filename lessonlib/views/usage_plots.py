"""Codebook usage histograms: one bar per code, dead (never used) codes in red."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes

LIVE_COLOR, DEAD_COLOR = "tab:blue", "tab:red"


def code_counts(indices: torch.Tensor, num_codes: int) -> np.ndarray:
    """How often each of the K codes occurs in `indices` (any shape): [K] int array."""
    flat = torch.as_tensor(indices).reshape(-1).long().cpu()
    return torch.bincount(flat, minlength=num_codes).numpy()


def counts_histogram(ax: Axes, counts, title: str = "", sort: bool = True,
                     log: bool = False) -> Axes:
    """Bars of per-code usage counts [K]; codes with count 0 drawn as red marks at the base.

    sort=True orders the codes from most to least used, which makes the collapse readable
    (a long red tail); sort=False keeps the code index on the x axis. log=True uses a log
    y axis, which keeps a few huge counts from flattening all the others.
    """
    counts = np.asarray(counts, dtype=np.float64)  # [K]
    k = counts.shape[0]
    if sort:
        counts = np.sort(counts)[::-1]
    edges = np.arange(k + 1) - 0.5  # one unit-wide step per code
    dead = counts == 0
    top = counts.max() if counts.max() > 0 else 1.0
    # log scale: counts start at 1, so the axis starts at 0.3 and dead stubs reach 0.6
    base, stub = (0.3, 0.6) if log else (0.0, top * 0.03)
    # Two filled step curves (one artist each) instead of K bars: fast for K in the thousands.
    ax.stairs(np.where(dead, base, counts), edges, fill=True, color=LIVE_COLOR, baseline=base)
    if dead.any():  # a red stub for every dead code, so that they are visible at height 0
        ax.stairs(np.where(dead, stub, base), edges, fill=True, color=DEAD_COLOR, baseline=base)
    if log:
        ax.set_yscale("log")
        ax.set_ylim(base, top * 2)
    ax.set_xlim(-0.5, k - 0.5)
    ax.set_xlabel("code (sorted by usage)" if sort else "code index")
    ax.set_ylabel("times used (log scale)" if log else "times used")
    n_dead = int(dead.sum())
    label = f"{k - n_dead}/{k} codes used, {n_dead} dead (red)"
    ax.set_title(f"{title}\n{label}" if title else label, fontsize=9)
    return ax


def usage_histogram(ax: Axes, indices: torch.Tensor, num_codes: int, title: str = "",
                    sort: bool = True, log: bool = False) -> Axes:
    """Histogram of code usage in `indices` (any shape) over K codes; dead codes in red."""
    return counts_histogram(ax, code_counts(indices, num_codes), title=title, sort=sort,
                            log=log)

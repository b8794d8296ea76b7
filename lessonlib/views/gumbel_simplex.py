"""Gumbel-softmax samples of a 3-way choice on the probability simplex, at a temperature.

The noise is drawn once, outside (a fixed [S, 3] Gumbel tensor); the render only computes
softmax((logits + g) / tau) for the chosen tau, places each sample in the triangle whose
corners are the one-hot vectors, and compares the frequencies of the argmax with
softmax(logits).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])  # one-hot e_1, e_2, e_3
COLORS = np.array(["tab:blue", "tab:orange", "tab:green"])


def simplex_xy(y: torch.Tensor) -> np.ndarray:
    """Points of the 2-simplex y [S, 3] (rows sum to 1) in the plane: [S, 2]."""
    return y.double().numpy() @ CORNERS


def render_gumbel_simplex(tau: float, hard: bool = False, *, logits: torch.Tensor,
                          noise: torch.Tensor) -> Figure:
    """Samples softmax((logits + noise) / tau) [S, 3] (or their one-hot) on the triangle,
    coloured by their argmax; bars: argmax frequencies, mean sample, softmax(logits)."""
    y = torch.softmax((logits + noise) / tau, dim=-1)  # [S, 3]
    winner = y.argmax(-1).numpy()  # [S]
    shown = torch.nn.functional.one_hot(y.argmax(-1), 3).double() if hard else y
    xy = simplex_xy(shown)
    fig, (ax, bars) = plt.subplots(1, 2, figsize=(9.5, 3.8),
                                   gridspec_kw={"width_ratios": [1.15, 1]})
    ax.fill(*CORNERS.T, color="0.95", edgecolor="0.6")
    ax.scatter(xy[:, 0], xy[:, 1], s=6, c=COLORS[winner], alpha=0.5, linewidths=0)
    for k, (cx, cy) in enumerate(CORNERS):
        ax.annotate(f"category {k + 1}", (cx, cy), textcoords="offset points",
                    xytext=(0, -12 if cy == 0 else 5), ha="center", fontsize=8)
    ax.set_title(f"{len(y)} samples at tau = {tau:g}" + (" (hard, one-hot)" if hard else ""),
                 fontsize=9, pad=16)
    ax.set_aspect("equal")
    ax.axis("off")
    probs = torch.softmax(logits.double(), -1).numpy()
    freq = np.bincount(winner, minlength=3) / len(winner)
    mean = shown.mean(0).numpy()
    x = np.arange(3)
    bars.bar(x - 0.27, probs, 0.27, label="softmax(logits)", color="0.3")
    bars.bar(x, freq, 0.27, label="argmax frequency", color="tab:purple")
    bars.bar(x + 0.27, mean, 0.27, label="mean of the samples", color="tab:cyan")
    bars.set_xticks(x, [f"cat. {k + 1}\nlogit {float(v):g}" for k, v in enumerate(logits)],
                    fontsize=8)
    bars.set_ylim(0, 1)
    bars.legend(fontsize=7, loc="upper left")
    bars.set_title("the argmax follows softmax at every tau; the mean does not", fontsize=9)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.16, top=0.9, wspace=0.12)
    return fig

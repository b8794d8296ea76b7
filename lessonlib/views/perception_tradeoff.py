"""Moving along the perception-distortion trade-off: precomputed estimators, one at a time.

    points    {kind: [(mse, perception), ...]}, one pair per value of alpha, per family
    images    {kind: [estimates_0, estimates_1, ...]}, each [K, C, H, W]
    truth     [K, C, H, W] the clean images; observed [K, C, H, W] what the estimator saw

The left panel draws each family as a curve in the (distortion, perception) plane, with
the chosen estimator marked and the lines D = D* (the MMSE) and D = 2 D*; the right panel
shows the clean images, the observations and the chosen estimates.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from lessonlib.views.plots import show_grid

LABELS = {"noise": "posterior mean + alpha x posterior noise",
          "scale": "posterior mean, rescaled by alpha"}
COLOURS = {"noise": "tab:blue", "scale": "tab:orange"}


def render_perception_tradeoff(index: int, kind: str, *, alphas: list[float], points: dict,
                               images: dict, truth: torch.Tensor, observed: torch.Tensor,
                               d_star: float) -> Figure:
    """The estimator number `index` (alpha = alphas[index]) of family `kind`."""
    index = min(max(index, 0), len(alphas) - 1)
    fig = plt.figure(figsize=(12, 3.9))
    grid = fig.add_gridspec(3, 2, width_ratios=[1.05, 1.6])
    ax = fig.add_subplot(grid[:, 0])
    for name, values in points.items():
        mse, perception = zip(*values)
        ax.plot(mse, perception, "o-", ms=3, color=COLOURS.get(name), label=LABELS.get(name, name),
                alpha=1.0 if name == kind else 0.45)
    mse, perception = points[kind][index]
    ax.plot([mse], [perception], "o", ms=11, mfc="none", mec="black", mew=2)
    for factor, text in ((1, "D* (MMSE)"), (2, "2 D*")):
        ax.axvline(factor * d_star, color="0.5", ls="--", lw=1)
        ax.text(factor * d_star, ax.get_ylim()[1], text, fontsize=8, ha="center", va="bottom")
    ax.set_xlabel("distortion: mean squared error of z", fontsize=9)
    ax.set_ylabel("perception: W2^2 to the true distribution", fontsize=9)
    ax.legend(fontsize=7.5, loc="upper right")
    ax.tick_params(labelsize=8)
    k = truth.shape[0]
    show_grid(fig.add_subplot(grid[0, 1]), truth, k, "clean images W z + b")
    show_grid(fig.add_subplot(grid[1, 1]), observed, k, "what the estimator sees (noisy)")
    show_grid(fig.add_subplot(grid[2, 1]), images[kind][index], k,
              f"estimates, alpha = {alphas[index]:.1f}: MSE {mse:.2f} "
              f"({mse / d_star:.2f} x D*), W2^2 {perception:.3f}")
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.13, top=0.9, wspace=0.12, hspace=0.45)
    return fig

""""Draw me a 7": precomputed samples of one digit class at a chosen temperature.

samples[(method, temperature)] is [10, S, 1, 28, 28] (S samples per class) and
verdicts[(method, temperature)] is [10, S] (the classifier's label of each sample); the
render only picks and draws.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from lessonlib.views.plots import to_grid


def render_class_samples(digit: int, temperature: float, method: str, *, samples: dict,
                         verdicts: dict, ncol: int = 8) -> Figure:
    """A grid of samples of class `digit`; the title counts how many the classifier agrees
    with."""
    images = samples[(method, temperature)][digit]  # [S, 1, 28, 28]
    agree = int((verdicts[(method, temperature)][digit] == digit).sum())
    fig, ax = plt.subplots(figsize=(7.5, 2.3 * (-(-images.shape[0] // ncol)) / 2 + 0.5))
    ax.imshow(to_grid(images, ncol)[..., 0], cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{method}, class {digit}, temperature {temperature:g}: the classifier "
                 f"reads {agree} of {images.shape[0]} as a {digit}", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    return fig

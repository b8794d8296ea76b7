"""Browse a trained tokenizer's output: a digit, its grid of integer tokens, its reconstruction.

Everything is precomputed (images, token grids, reconstructions); the render only draws.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from lessonlib.views.token_plots import draw_token_grid


def render_token_grid(i: int, show_numbers: bool = True, *, images: torch.Tensor,
                      indices: torch.Tensor, recons: torch.Tensor,
                      num_codes: int) -> Figure:
    """Digit i: the image, its token grid (numbers drawn over it), the decoded tokens.

    images, recons [N, C, H, W] in [0, 1]; indices [N, h, w] integers in [0, num_codes).
    """
    image, grid, recon = images[i], indices[i], recons[i]
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.4))
    axes[0].imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title(f"test digit {i}: {image[0].numel()} pixels", fontsize=9)
    if show_numbers:
        draw_token_grid(axes[1], image, grid, alpha=0.55)
    else:
        axes[1].imshow(grid.numpy(), cmap="tab20", vmin=0, vmax=num_codes - 1,
                       interpolation="nearest")
    distinct = int(torch.unique(grid).numel())
    axes[1].set_title(f"{grid.numel()} tokens from {num_codes} codes "
                      f"({distinct} distinct here)", fontsize=9)
    axes[2].imshow(recon[0].numpy(), cmap="gray", vmin=0, vmax=1)
    mse = float((recon - image).pow(2).mean())
    axes[2].set_title(f"decoded from the tokens (MSE {mse:.4f})", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.9, wspace=0.08)
    return fig

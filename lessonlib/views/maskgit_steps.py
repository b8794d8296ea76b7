"""MaskGIT's iterative decoding, step by step (everything precomputed by the caller).

For each decoding budget (4, 8, 16 steps) the caller stores, for a few samples, the token
grid after every step (-1 = still masked) and the image decoded from it (masked places
filled with a blank code), so the render only draws: two tiled images, one imshow each.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure

from lessonlib.views.plots import to_grid

MASKED_GREY = 0.35


def token_colours(grids: torch.Tensor, num_colours: int = 20) -> torch.Tensor:
    """Token grids [S, h, w] (-1 = masked) -> RGB images [S, 3, h, w] in [0, 1]: each code
    gets a colour of the tab20 map (code mod 20), masked cells are grey."""
    palette = torch.tensor(colormaps["tab20"](np.arange(num_colours))[:, :3],
                           dtype=torch.float32)  # [20, 3]
    rgb = palette[grids.clamp_min(0) % num_colours]  # [S, h, w, 3]
    rgb[grids < 0] = MASKED_GREY
    return rgb.permute(0, 3, 1, 2)


def render_maskgit_steps(step: int, total_steps: int = 8, *, grids: dict, images: dict
                         ) -> Figure:
    """Top: token grids after `step` (1-based, clipped to total_steps), masked cells grey;
    bottom: their decoded images. grids[total] [T, S, h, w] ints (-1 masked); images[total]
    [T, S, 1, H, W] in [0, 1]."""
    s = min(max(step, 1), total_steps) - 1
    grid, image = grids[total_steps][s], images[total_steps][s]  # [S, h, w], [S, 1, H, W]
    n = grid.shape[0]
    coloured = torch.nn.functional.interpolate(token_colours(grid), size=image.shape[-2:],
                                               mode="nearest")  # [S, 3, H, W]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(1.2 * n + 0.4, 3.1))
    top.imshow(to_grid(coloured, n))
    bottom.imshow(to_grid(image, n)[..., 0], cmap="gray", vmin=0, vmax=1)
    for ax in (top, bottom):
        ax.axis("off")
    still = int((grid[0] < 0).sum())
    fig.suptitle(f"{total_steps}-step decoding, after step {s + 1}: {still} of "
                 f"{grid[0].numel()} tokens still masked (grey)", fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.88, hspace=0.06)
    return fig


def fill_masked(grids: torch.Tensor, blank: int) -> torch.Tensor:
    """Token grids with -1 (masked) replaced by a blank code, for decoding."""
    return torch.where(grids < 0, torch.full_like(grids, blank), grids)

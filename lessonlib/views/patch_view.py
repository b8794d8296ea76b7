"""Which pixels does one PatchGAN logit judge? The patch on a digit and the logit grids.

Everything is precomputed (images, the discriminator's logits, its conv geometry); the
render only draws. The box comes from lessonlib.tokenizers.patchgan.receptive_box and is
clipped to the image (the part outside is zero padding).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from lessonlib.tokenizers.patchgan import receptive_box


def _draw_box(ax, box, size):
    top, left, bottom, right = box
    top, left = max(top, 0), max(left, 0)
    bottom, right = min(bottom, size[0] - 1), min(right, size[1] - 1)
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                           fill=False, edgecolor="tab:orange", linewidth=2))


def _draw_logits(ax, logits, row, col, title, limit):
    ax.imshow(logits, cmap="coolwarm_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="black",
                           linewidth=2))
    ax.set_title(title, fontsize=9)


def render_patch_view(i: int, row: int, col: int, *, images: torch.Tensor,
                      recons: torch.Tensor, logits_real: torch.Tensor,
                      logits_fake: torch.Tensor,
                      geometry: list[tuple[int, int, int]]) -> Figure:
    """Digit i: the patch seen by logit (row, col) on the real digit and on its
    reconstruction, and the discriminator's logit grids for both.

    images, recons [N, 1, H, W] in [0, 1]; logits_real, logits_fake [N, 1, h, w];
    geometry: (kernel, stride, padding) per conv layer of the discriminator.
    """
    h, w = logits_real.shape[-2:]
    row, col = min(max(row, 0), h - 1), min(max(col, 0), w - 1)
    box = receptive_box(geometry, row, col)
    size = tuple(images.shape[-2:])
    real = logits_real[i, 0].numpy()
    fake = logits_fake[i, 0].numpy()
    limit = float(max(np.abs(real).max(), np.abs(fake).max(), 1e-6))
    fig, axes = plt.subplots(1, 4, figsize=(11.5, 3.2))
    for ax, img, name in ((axes[0], images[i], "real digit"), (axes[2], recons[i],
                                                                "reconstruction")):
        ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
        _draw_box(ax, box, size)
        ax.set_title(f"{name}: logit ({row}, {col}) sees\nrows {max(box[0], 0)}-"
                     f"{min(box[2], size[0] - 1)}, columns {max(box[1], 0)}-"
                     f"{min(box[3], size[1] - 1)}", fontsize=9)
    _draw_logits(axes[1], real, row, col, f"logits on the real digit ({h}x{w})\n"
                 f"this one: {real[row, col]:+.2f} (mean {real.mean():+.2f})", limit)
    _draw_logits(axes[3], fake, row, col, f"logits on the reconstruction\n"
                 f"this one: {fake[row, col]:+.2f} (mean {fake.mean():+.2f})", limit)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.text(0.5, 0.01, "blue: judged real (positive logit), red: judged fake",
             ha="center", fontsize=8)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.07, top=0.82, wspace=0.08)
    return fig

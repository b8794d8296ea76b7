"""Drawings of discrete latents: an image with its token grid, a codebook in 2-D, code images.

Any quantizer that follows lessonlib.quantizers.common's convention (indices [B, H, W],
a codebook [K, D])
can use these:

    draw_token_grid(ax, image, indices)           image [C, H, W] or [H, W]; indices [h, w]
    draw_codebook_pca(ax, codebook, counts)       codebook [K, D]; counts [K] (usage)
    decode_token_grids(decoder, codebook, tokens) tokens [B, h, w] -> decoded images
    mean_patch_per_code(images, tokens, K)       the mean image patch behind each code
"""

from __future__ import annotations

import matplotlib.patheffects as path_effects
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes

from lessonlib.autoencoders.pca import PCA


def _as_hw_image(image: torch.Tensor) -> tuple[np.ndarray, bool]:
    """[H, W] or [C, H, W] (C = 1 or 3) -> (array for imshow, is_gray)."""
    image = torch.as_tensor(image).detach().float().cpu()
    if image.dim() == 3 and image.shape[0] == 1:
        image = image[0]
    if image.dim() == 2:
        return image.clamp(0, 1).numpy(), True
    if image.dim() == 3 and image.shape[0] == 3:
        return image.permute(1, 2, 0).clamp(0, 1).numpy(), False
    raise ValueError(f"image should be [H, W], [1, H, W] or [3, H, W], got {list(image.shape)}")


def draw_token_grid(ax: Axes, image: torch.Tensor, indices: torch.Tensor, *,
                    fontsize: float | None = None, title: str = "",
                    alpha: float = 1.0) -> Axes:
    """The image with its token grid on top: cell lines and each cell's integer code.

    image [H, W], [1, H, W] or [3, H, W] in [0, 1]; indices [h, w] integers (one token per
    cell; H and W need not be multiples of h and w). Numbers are drawn white with a dark
    outline so they stay readable on any background.
    """
    pixels, gray = _as_hw_image(image)
    indices = torch.as_tensor(indices).detach().cpu()
    if indices.dim() != 2:
        raise ValueError(f"indices should be a [h, w] grid, got {list(indices.shape)}")
    height, width = pixels.shape[:2]
    rows, cols = indices.shape
    ax.imshow(pixels, cmap="gray" if gray else None, vmin=0, vmax=1, alpha=alpha,
              extent=(0, width, height, 0), interpolation="nearest")
    cell_h, cell_w = height / rows, width / cols
    for r in range(1, rows):
        ax.axhline(r * cell_h, color="tab:orange", lw=0.6, alpha=0.8)
    for c in range(1, cols):
        ax.axvline(c * cell_w, color="tab:orange", lw=0.6, alpha=0.8)
    size = fontsize or max(5.0, min(10.0, 56.0 / max(rows, cols)))
    outline = [path_effects.withStroke(linewidth=1.6, foreground="black")]
    for r in range(rows):
        for c in range(cols):
            ax.text((c + 0.5) * cell_w, (r + 0.5) * cell_h, str(int(indices[r, c])),
                    ha="center", va="center", fontsize=size, color="white",
                    path_effects=outline)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def codebook_projection(codebook: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The codebook's top-2 principal coordinates [K, 2] and the variance fraction they keep."""
    codebook = torch.as_tensor(codebook).detach().float().cpu()
    if codebook.shape[1] == 1:
        flat = torch.cat([codebook, torch.zeros_like(codebook)], dim=1)  # [K, 2]
        return flat, 1.0
    pca = PCA.fit(codebook)
    return pca.encode(codebook, 2), pca.explained(2)


def draw_codebook_pca(ax: Axes, codebook: torch.Tensor, counts, *, title: str = "",
                      label_top: int = 0) -> Axes:
    """Scatter of the codebook [K, D] in its first two principal axes, area ~ usage.

    counts [K]: how often each code was chosen. Used codes are blue dots whose area grows
    with their count; never-used (dead) codes are red crosses. label_top > 0 writes the
    index of the most used codes next to them.
    """
    xy, kept = codebook_projection(codebook)  # [K, 2]
    counts = np.asarray(torch.as_tensor(counts).cpu(), dtype=np.float64)  # [K]
    if counts.shape[0] != xy.shape[0]:
        raise ValueError(f"counts has {counts.shape[0]} entries, the codebook {xy.shape[0]} rows")
    xy = xy.numpy()
    live = counts > 0
    share = counts / max(counts.sum(), 1.0)
    ax.scatter(xy[live, 0], xy[live, 1], s=20 + 1500 * share[live], color="tab:blue",
               alpha=0.6, edgecolors="navy", linewidths=0.5, label=f"used ({live.sum()})")
    if (~live).any():
        ax.scatter(xy[~live, 0], xy[~live, 1], s=25, marker="x", color="tab:red",
                   label=f"never used ({(~live).sum()})")
    for k in np.argsort(-counts)[:label_top]:
        if counts[k] > 0:
            ax.annotate(str(k), xy[k], xytext=(4, 3), textcoords="offset points", fontsize=7)
    ax.set_xlabel("principal axis 1")
    ax.set_ylabel("principal axis 2")
    head = f"{title}\n" if title else ""
    ax.set_title(f"{head}codebook in 2-D (PCA keeps {100 * kept:.0f}% of its variance)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return ax


@torch.no_grad()
def decode_token_grids(decoder: torch.nn.Module, codebook: torch.Tensor,
                       tokens: torch.Tensor) -> torch.Tensor:
    """Decode integer token grids: tokens [B, h, w] -> decoder(codebook[tokens]) as [B, D, h, w].

    codebook [K, D]. Returns the decoder's output as is (e.g. logits [B, C, H, W]).
    """
    z_q = codebook.detach()[tokens].permute(0, 3, 1, 2).contiguous()  # [B, D, h, w]
    return decoder(z_q)


def mean_patch_per_code(images: torch.Tensor, tokens: torch.Tensor, num_codes: int,
                        margin: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """What each code stands for in the data: the mean image patch where it was chosen.

    images [N, C, H, W]; tokens [N, h, w] with H = h * s and W = w * s (each token covers an
    s x s patch). `margin` pixels of context are added on every side (zero padding at the
    image border). Returns (means [K, C, s + 2m, s + 2m], counts [K]); unused codes get 0.
    """
    n, c, height, width = images.shape
    rows, cols = tokens.shape[-2:]
    if height % rows or width % cols or height // rows != width // cols:
        raise ValueError(f"a {rows}x{cols} token grid does not tile {height}x{width} images "
                         "into square patches")
    stride = height // rows
    size = stride + 2 * margin
    padded = F.pad(images.float(), (margin, margin, margin, margin))  # [N, C, H+2m, W+2m]
    patches = F.unfold(padded, kernel_size=size, stride=stride)  # [N, C*size*size, h*w]
    patches = patches.permute(0, 2, 1).reshape(-1, c * size * size)  # [N*h*w, C*size*size]
    flat = tokens.reshape(-1).long()  # [N*h*w]
    counts = torch.bincount(flat, minlength=num_codes)  # [K]
    sums = torch.zeros(num_codes, patches.shape[1]).index_add_(0, flat, patches)  # [K, P]
    means = sums / counts.clamp_min(1).unsqueeze(1)
    return means.reshape(num_codes, c, size, size), counts

"""Two-stage generation drawn with matplotlib: a tokenizer, then a prior over its latents.

Three flavours of latent sit between encoder and decoder: a continuous map (Stable
Diffusion's autoencoder), tokens from a learned codebook (DALL-E 1's dVAE, VQ-GAN), and
lookup-free tokens (MAGVIT-v2's LFQ). The figure is static: nothing is computed.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

_BOXES = [
    (0.02, 0.13, "image\n256 x 256 x 3\n196,608 numbers", "#dddddd"),
    (0.20, 0.12, "encoder\n(stage 1,\ntrained first)", "#cfe2f3"),
    (0.64, 0.15, "prior\n(stage 2: diffusion,\nautoregressive or\nmasked transformer)",
     "#fce5cd"),
    (0.83, 0.10, "decoder\n(stage 1,\nfrozen)", "#cfe2f3"),
]
_LATENTS = [
    (0.84, "continuous map\n32 x 32 x 4 floats\n(SD 1.x autoencoder)"),
    (0.50, "codebook tokens\n32 x 32 indices, K = 8192\n(DALL-E 1 dVAE; VQ-GAN alike)"),
    (0.16, "lookup-free tokens\nsign of each channel, 2^18 codes\n(MAGVIT-v2 LFQ)"),
]


def pipeline_figure() -> Figure:
    """The two-stage pipeline with the three flavours of latent."""
    fig, ax = plt.subplots(figsize=(11.5, 3.6))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    y, height = 0.42, 0.22
    for x, width, text, color in _BOXES:
        ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.01",
                                    facecolor=color, edgecolor="gray"))
        ax.text(x + width / 2, y + height / 2, text, ha="center", va="center", fontsize=8)
    for y, text in _LATENTS:
        ax.add_patch(FancyBboxPatch((0.39, y - 0.08), 0.22, 0.16, boxstyle="round,pad=0.01",
                                    facecolor="#d9ead3", edgecolor="gray"))
        ax.text(0.50, y, text, ha="center", va="center", fontsize=7.5)
        for start, end in (((0.32, 0.53), (0.39, y)), ((0.61, y), (0.64, 0.53))):
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="->", mutation_scale=10,
                                         color="gray"))
    for start, end in (((0.15, 0.53), (0.20, 0.53)), ((0.79, 0.53), (0.83, 0.53)),
                       ((0.93, 0.53), (0.955, 0.53))):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="->", mutation_scale=12))
    ax.text(0.98, 0.53, "new\nimage", ha="center", va="center", fontsize=8)
    ax.set_title("Two-stage generation: train the tokenizer, freeze it, then learn a prior "
                 "over its latents; the prior's samples go through the decoder", fontsize=9)
    return fig

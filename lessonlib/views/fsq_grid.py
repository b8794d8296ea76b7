"""FSQ pictures: the rounding staircase, the code grid of two channels, the implicit codebook
size (the interactive), and the grid conventions of the course and of the FSQ paper beside
two widely repeated mistakes, side by side (a static figure)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from lessonlib.quantizers.fsq import fsq_levels, paper_fsq_levels

COURSE, PAPER = "course (symmetric)", "FSQ paper ([-1, 1])"
REFERENCE_SIZES = {"VQ, ch06 (K)": 512, "FSQ (8,5,5,5)": 1000, "VQ-GAN (K)": 8192,
                   "FSQ 5^6": 15_625, "FSQ 8^6 / LFQ 2^18": 262_144}


def course_staircase(z: torch.Tensor, level: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(bounded, quantized) for one channel with `level` values on the course's grid."""
    half, shift = (level - 1) / 2, 0.5 * (level % 2 == 0)
    bounded = half * torch.tanh(z) - shift
    return bounded + shift, bounded.round() + shift


def paper_staircase(z: torch.Tensor, level: int,
                    eps: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
    """(bounded, quantized) as the FSQ paper's code does it: shifted tanh, round, / (L // 2)."""
    half_l = (level - 1) * (1 - eps) / 2
    offset = 0.5 * (level % 2 == 0)
    shift = math.tan(offset / half_l)
    bounded = torch.tanh(z + shift) * half_l - offset
    return bounded / (level // 2), bounded.round() / (level // 2)


def path_code_staircase(z: torch.Tensor, level: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A widely copied snippet: round((L - 1)/2 * tanh(z)), no half shift for even L."""
    bounded = (level - 1) / 2 * torch.tanh(z)
    return bounded, bounded.round()


def path_formula_staircase(z: torch.Tensor, level: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A widely quoted formula: round(L * tanh(z)), 2L + 1 levels -L..L."""
    bounded = level * torch.tanh(z)
    return bounded, bounded.round()


CONVENTIONS = {
    "course: half shift for even L": course_staircase,
    "FSQ paper code (/ (L // 2))": paper_staircase,
    "no half shift: round((L-1)/2 tanh z)": path_code_staircase,
    "round(L tanh z): 2L + 1 levels": path_formula_staircase,
}


def _sweep(n: int = 1201, reach: float = 6.0) -> torch.Tensor:
    return torch.linspace(-reach, reach, n)


def render_fsq_grid(level: int, dims: int, grid: str = COURSE, *,
                    samples: torch.Tensor) -> Figure:
    """Staircase of one channel, the grid of the first two channels, and the codebook size.

    level: L (the same for every channel); dims: d; grid: COURSE or PAPER;
    samples: [N, 2] encoder-like outputs (pre-tanh) drawn once, shown snapping to the grid.
    """
    level, dims = int(level), int(dims)
    staircase = course_staircase if grid == COURSE else paper_staircase
    values = fsq_levels(level) if grid == COURSE else paper_fsq_levels(level)
    fig = plt.figure(figsize=(11, 3.6))
    gs = fig.add_gridspec(1, 3, width_ratios=[1.25, 1, 1.05], left=0.06, right=0.98,
                          bottom=0.15, top=0.84, wspace=0.32)

    ax = fig.add_subplot(gs[0, 0])
    z = _sweep()
    bounded, quantized = staircase(z, level)
    ax.hlines(values.numpy(), -6.0, 6.0, color="0.85", lw=0.8, zorder=0)
    ax.plot(z, bounded, color="tab:blue", ls="--", lw=1.2, label="bounded (before round)")
    ax.plot(z, quantized, color="tab:orange", lw=2, label="quantized $\\hat z$")
    ax.set_xlabel("encoder output $z$ (one channel)")
    ax.set_ylabel("value passed to the decoder")
    ax.set_title(f"L = {level}: levels {_short(values)}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")

    ax = fig.add_subplot(gs[0, 1])
    s = samples[:, :2] if dims >= 2 else torch.stack([samples[:, 0], 0 * samples[:, 0]], 1)
    b0, q0 = staircase(s[:, 0], level)
    b1, q1 = staircase(s[:, 1], level) if dims >= 2 else (0 * b0, 0 * q0)
    cont = torch.stack([b0, b1], 1).numpy()
    snap = torch.stack([q0, q1], 1).numpy()
    nan = np.full_like(cont, np.nan)
    links = np.stack([cont, snap, nan], 1).reshape(-1, 2)  # one polyline, NaN-separated
    ax.plot(links[:, 0], links[:, 1], color="0.6", lw=0.5)
    ax.plot(cont[:, 0], cont[:, 1], ".", ms=3, color="tab:blue", alpha=0.6, label="bounded $z$")
    if dims >= 2:
        g0, g1 = torch.meshgrid(values, values, indexing="ij")
    else:
        g0, g1 = values, torch.zeros_like(values)
    ax.plot(g0.reshape(-1), g1.reshape(-1), "o", ms=5, color="tab:orange", mec="k", mew=0.5,
            zorder=3, label="codes")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("channel 0")
    ax.set_ylabel("channel 1" if dims >= 2 else "(d = 1: a single channel)")
    n_grid = level ** min(dims, 2)
    ax.set_title(f"first {min(dims, 2)} channel(s): {n_grid} codes (orange);\n"
                 "blue: bounded outputs, grey: where they snap", fontsize=9)

    ax = fig.add_subplot(gs[0, 2])
    size = level ** dims
    names = list(REFERENCE_SIZES) + [f"this: {level}^{dims}"]
    sizes = list(REFERENCE_SIZES.values()) + [size]
    colors = ["0.7"] * len(REFERENCE_SIZES) + ["tab:orange"]
    top = math.log10(max(10 ** 7, size * 10))
    ax.barh(range(len(sizes)), [math.log10(v) for v in sizes], color=colors)
    for i, (name, v) in enumerate(zip(names, sizes)):
        ax.text(0.1, i, f"{name}: {v:,}", va="center", fontsize=7)
    ax.set_yticks([])
    ax.set_xlim(0, top)
    ax.set_xlabel("log10 of the codebook size")
    ax.set_title(f"implicit codebook L^d = {level}^{dims} = {size:,}\n"
                 f"{dims * math.log2(level):.1f} bits per token, 0 parameters", fontsize=9)
    return fig


def _short(values: torch.Tensor) -> str:
    vals = [f"{v:g}" for v in values.tolist()]
    return "{" + ", ".join(vals) + "}" if len(vals) <= 6 else (
        "{" + ", ".join(vals[:2]) + ", ..., " + ", ".join(vals[-2:]) + "}")


def reachable_levels(staircase, level: int, reach: float = 6.0) -> list[float]:
    """Distinct outputs of a staircase over z in [-reach, reach] (tanh not yet exactly +-1)."""
    return torch.unique(staircase(_sweep(4001, reach), level)[1]).tolist()


def render_grid_conventions(levels=(4, 5)) -> Figure:
    """For each L: the staircases of each convention (left) and their level sets (right)."""
    colors = ["tab:orange", "tab:green", "tab:red", "tab:purple"]
    fig, axes = plt.subplots(len(levels), 2, figsize=(11, 3.1 * len(levels)),
                             gridspec_kw={"width_ratios": [1.2, 1]}, squeeze=False)
    z = _sweep(1201, 3.5)
    for row, level in zip(axes, levels):
        ax = row[0]
        for (name, staircase), color in zip(CONVENTIONS.items(), colors):
            if name.startswith("path formula"):
                continue  # off the scale; its levels are on the right
            ax.plot(z, staircase(z, level)[1], color=color, lw=1.8, label=name)
        ax.set_title(f"L = {level}: what each version outputs", fontsize=9)
        ax.set_xlabel("encoder output $z$")
        ax.legend(fontsize=7, loc="upper left")
        ax = row[1]
        for i, (staircase, color) in enumerate(zip(CONVENTIONS.values(), colors)):
            vals = reachable_levels(staircase, level)
            ax.scatter(vals, [i] * len(vals), color=color, s=30, zorder=3)
            ax.text(max(vals) + 0.3, i, f"{len(vals)} levels", va="center", fontsize=7)
        ax.set_yticks(range(len(CONVENTIONS)), list(CONVENTIONS), fontsize=7)
        ax.axvline(0, color="0.8", lw=0.8, zorder=0)
        ax.set_xlim(-level - 0.8, level + 2.2)
        ax.invert_yaxis()
        ax.set_title(f"L = {level}: the level sets", fontsize=9)
        ax.set_xlabel("value")
    fig.tight_layout()
    return fig

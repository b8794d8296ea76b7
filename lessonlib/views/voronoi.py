"""The nearest-code interactive: a 2-D codebook, its Voronoi cells, and a point that snaps.

Vector quantization replaces a vector z_e by the nearest codebook row e_k. In two
dimensions the set of points that snap to e_k is a convex polygon (its Voronoi cell);
`voronoi_cells` computes the cell of every point of a grid with
lessonlib.quantizers.vq.nearest_code,
and `render_voronoi` draws the cells, the codes, the encoder output and its assignment.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from lessonlib.quantizers.vq import nearest_code

ZE_COLOR, CODE_COLOR, LINK_COLOR = "tab:orange", "tab:blue", "tab:green"


def voronoi_cells(codebook: torch.Tensor, extent: float = 2.5,
                  resolution: int = 200) -> torch.Tensor:
    """Index of the nearest code for every point of a square grid: [resolution, resolution].

    codebook [K, 2]; the grid spans [-extent, extent] on both axes, row 0 at the bottom
    (y = -extent), column 0 on the left (x = -extent), as imshow(origin="lower") draws it.
    """
    axis = torch.linspace(-extent, extent, resolution)  # [R]
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")  # [R, R] each
    points = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)  # [R*R, 2]
    return nearest_code(points, codebook.float()).reshape(resolution, resolution)


def _cell_colors(k: int) -> ListedColormap:
    """K pale, distinguishable colours (tab20 lightened), one per Voronoi cell."""
    base = plt.get_cmap("tab20")(np.arange(k) % 20)[:, :3]
    return ListedColormap(0.55 * base + 0.45)


RULES = ("squared distance", "dot product only (wrong)")


def dot_product_cells(codebook: torch.Tensor, extent: float = 2.5,
                      resolution: int = 200) -> torch.Tensor:
    """Like voronoi_cells, but choosing the code with the largest dot product z . e_k.

    This is the slip of dropping ||e_k||^2 from the expanded distance: the cells become
    cones from the origin and short codes can never win.
    """
    axis = torch.linspace(-extent, extent, resolution)  # [R]
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")  # [R, R] each
    points = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)  # [R*R, 2]
    return (points @ codebook.float().t()).argmax(dim=1).reshape(resolution, resolution)


def render_voronoi(x: float, y: float, k: int, rule: str = RULES[0], *,
                   codebook: torch.Tensor, extent: float = 2.5,
                   resolution: int = 160) -> Figure:
    """Encoder output z_e = (x, y) snapping to one of the first k codes.

    Left: the cells of codebook[:k] under `rule` (shaded), the codes (blue, numbered), z_e
    (orange) and its assignment (green line). Right: the score of every code for this z_e
    (squared distance, smallest wins; or dot product, largest wins), the winner highlighted.
    """
    if rule not in RULES:
        raise ValueError(f"rule should be one of {RULES}, got {rule!r}")
    codes = codebook[:k].float()  # [k, 2]
    z_e = torch.tensor([[x, y]], dtype=torch.float32)  # [1, 2]
    if rule == RULES[0]:
        cells = voronoi_cells(codes, extent, resolution)  # [R, R]
        index = int(nearest_code(z_e, codes)[0])
        score = (codes - z_e).pow(2).sum(1)  # [k]
        score_label, pick = r"$\|z_e - e_k\|^2$", "argmin"
    else:
        cells = dot_product_cells(codes, extent, resolution)  # [R, R]
        score = (codes @ z_e[0])  # [k]
        index = int(score.argmax())
        score_label, pick = r"$z_e \cdot e_k$", "argmax"
    e_k = codes[index]
    never = sorted(set(range(k)) - set(torch.unique(cells).tolist()))

    fig, (ax, bar_ax) = plt.subplots(1, 2, figsize=(9.5, 4.3),
                                     gridspec_kw={"width_ratios": [1.15, 1]})
    ax.imshow(cells.numpy(), origin="lower", extent=(-extent, extent, -extent, extent),
              cmap=_cell_colors(k), vmin=-0.5, vmax=k - 0.5, interpolation="nearest")
    ax.scatter(codes[:, 0], codes[:, 1], s=42, color=CODE_COLOR, zorder=3,
               edgecolors="white", linewidths=0.8)
    for j, (cx, cy) in enumerate(codes.tolist()):
        ax.annotate(str(j), (cx, cy), xytext=(5, 4), textcoords="offset points",
                    fontsize=8, color="navy")
    ax.plot([x, float(e_k[0])], [y, float(e_k[1])], color=LINK_COLOR, lw=2.2, zorder=4)
    ax.scatter([x], [y], s=90, color=ZE_COLOR, edgecolors="black", linewidths=0.8, zorder=5,
               clip_on=False)
    ax.scatter([float(e_k[0])], [float(e_k[1])], s=160, facecolors="none",
               edgecolors=LINK_COLOR, linewidths=2.2, zorder=5)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
    unused = f"; codes {never} can never win" if never else ""
    ax.set_title(f"z_e = ({x:.2f}, {y:.2f}) snaps to code {index}, "
                 f"z_q = ({float(e_k[0]):.2f}, {float(e_k[1]):.2f})\n"
                 f"rule: {rule}{unused}", fontsize=8.5)

    colors = [LINK_COLOR if j == index else "lightgray" for j in range(k)]
    bar_ax.bar(np.arange(k), score.numpy(), color=colors)
    bar_ax.axhline(0, color="black", lw=0.6)
    bar_ax.set_xticks(np.arange(k))
    bar_ax.tick_params(axis="x", labelsize=7)
    bar_ax.set_xlabel("code k")
    bar_ax.set_ylabel(score_label)
    error = float((e_k - z_e[0]).pow(2).sum())
    bar_ax.set_title(f"{pick} over {k} codes = {index}; "
                     f"quantization error {error:.3f}", fontsize=9)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.88, wspace=0.28)
    return fig

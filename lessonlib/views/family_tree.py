"""A family tree of models, drawn with matplotlib: boxes at given places, arrows between them.

    nodes = {"VAE": {"xy": (1, 3), "label": "VAE\nKingma & Welling 2014", "chapter": "ch 2-3"}}
    edges = [("AE", "VAE"), ...]
    fig = draw_family_tree(nodes, edges, groups={"continuous": ["VAE"]})

Each box shows the node's label and, below it, the chapter that builds it; a group colours
its boxes (one legend entry per group).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

COLOURS = ("#dbe9f6", "#fde2c8", "#d9f0d3", "#eadcf2", "#f6dbe0")


def draw_family_tree(nodes: dict, edges: list[tuple[str, str]],
                     groups: dict[str, list[str]] | None = None,
                     figsize: tuple[float, float] = (12, 5.6)) -> Figure:
    """nodes: name -> {"xy": (x, y), "label": text, "chapter": text}; edges: (parent,
    child) names; groups: legend name -> node names (colours the boxes)."""
    colour_of = {}
    for colour, (_, names) in zip(COLOURS, (groups or {}).items()):
        colour_of.update({name: colour for name in names})
    fig, ax = plt.subplots(figsize=figsize)
    for parent, child in edges:
        (x0, y0), (x1, y1) = nodes[parent]["xy"], nodes[child]["xy"]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "0.45", "lw": 1.2,
                                "shrinkA": 28, "shrinkB": 28})
    for name, node in nodes.items():
        x, y = node["xy"]
        text = node["label"] + (f"\n[{node['chapter']}]" if node.get("chapter") else "")
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5,
                bbox={"boxstyle": "round,pad=0.45", "fc": colour_of.get(name, "white"),
                      "ec": "0.35"})
    for colour, group in zip(COLOURS, groups or {}):
        ax.scatter([], [], s=120, marker="s", color=colour, edgecolor="0.35", label=group)
    if groups:
        ax.legend(loc="lower left", fontsize=8, frameon=False)
    xs = [n["xy"][0] for n in nodes.values()]
    ys = [n["xy"][1] for n in nodes.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.6)
    ax.axis("off")
    fig.tight_layout()
    return fig

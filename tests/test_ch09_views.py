"""The render functions of chapter 9's views return figures at their extremes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lessonlib.views.family_tree import draw_family_tree  # noqa: E402
from lessonlib.views.perception_tradeoff import render_perception_tradeoff  # noqa: E402


def test_perception_tradeoff_renders_every_point():
    alphas = [0.0, 0.5, 1.0]
    points = {"noise": [(1.0, 0.3), (1.25, 0.1), (2.0, 0.0)],
              "scale": [(1.0, 0.3), (1.02, 0.05), (1.06, 0.0)]}
    images = {k: [torch.rand(4, 1, 8, 8) for _ in alphas] for k in points}
    for kind in points:
        for index in (-1, 0, 1, 2, 7):
            fig = render_perception_tradeoff(index, kind, alphas=alphas, points=points,
                                             images=images, truth=torch.rand(4, 1, 8, 8),
                                             observed=torch.rand(4, 1, 8, 8), d_star=1.0)
            assert isinstance(fig, Figure)
            plt.close(fig)


def test_family_tree_draws_nodes_and_groups():
    nodes = {"A": {"xy": (0, 0), "label": "A", "chapter": "ch 1"},
             "B": {"xy": (1, 1), "label": "B"}}
    fig = draw_family_tree(nodes, [("A", "B")], {"group": ["A"]})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "A\n[ch 1]" in texts and "B" in texts
    plt.close(fig)

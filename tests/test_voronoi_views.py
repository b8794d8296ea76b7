"""The nearest-code and token-browser interactives: cell maps against brute force, renders."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lessonlib.views.token_grid import render_token_grid  # noqa: E402
from lessonlib.views.voronoi import (  # noqa: E402
    RULES,
    dot_product_cells,
    render_voronoi,
    voronoi_cells,
)
from lessonlib.views.widgets import Choice, FloatSlider, IntSlider, Toggle, probe_render  # noqa: E402

CODEBOOK = torch.tensor([[-1.6, 1.5], [0.2, 1.7], [1.5, 1.2], [-0.6, 0.5], [0.8, 0.3],
                         [-1.8, -0.2], [0.1, -0.6], [1.7, -0.6], [-1.0, -1.5], [0.6, -1.7],
                         [2.0, -1.9], [-0.2, 0.0]])


def _grid_points(extent: float, resolution: int) -> list[tuple[int, int, float, float]]:
    axis = torch.linspace(-extent, extent, resolution)
    return [(r, c, float(axis[c]), float(axis[r])) for r in range(resolution)
            for c in range(resolution)]


def test_voronoi_cells_match_brute_force_and_orientation():
    extent, res = 2.0, 15
    cells = voronoi_cells(CODEBOOK, extent, res)
    assert cells.shape == (res, res)
    for r, c, x, y in _grid_points(extent, res):
        dists = [(x - float(e[0])) ** 2 + (y - float(e[1])) ** 2 for e in CODEBOOK]
        assert cells[r, c].item() == min(range(len(dists)), key=dists.__getitem__)
    # row 0 is the bottom edge (y = -extent), column 0 the left edge (x = -extent)
    assert cells[0, 0].item() == 8 and cells[-1, 0].item() == 0


def test_dot_product_cells_are_argmax_of_the_dot_product():
    extent, res = 2.0, 11
    cells = dot_product_cells(CODEBOOK, extent, res)
    for r, c, x, y in _grid_points(extent, res):
        dots = [x * float(e[0]) + y * float(e[1]) for e in CODEBOOK]
        assert cells[r, c].item() == max(range(len(dots)), key=dots.__getitem__)
    # short codes never win under the dot product
    assert 11 not in set(dot_product_cells(CODEBOOK, 2.5, 120).unique().tolist())
    assert set(voronoi_cells(CODEBOOK, 2.5, 120).unique().tolist()) == set(range(12))


@pytest.mark.parametrize("rule", RULES)
def test_render_voronoi_names_the_nearest_code(rule):
    fig = render_voronoi(0.75, 0.35, 12, rule, codebook=CODEBOOK)
    assert isinstance(fig, Figure)
    title = fig.axes[0].get_title()
    want = 4 if rule == RULES[0] else int((CODEBOOK @ torch.tensor([0.75, 0.35])).argmax())
    assert f"snaps to code {want}" in title
    plt.close(fig)
    with pytest.raises(ValueError):
        render_voronoi(0.0, 0.0, 3, "cosine", codebook=CODEBOOK)


def test_render_voronoi_extremes():
    controls = [FloatSlider("x", -2.5, 2.5, 0.5), FloatSlider("y", -2.5, 2.5, 0.5),
                IntSlider("k", 2, 12, 12), Choice("rule", RULES)]
    stats = probe_render(lambda **p: render_voronoi(**p, codebook=CODEBOOK), controls)
    assert stats["calls"] >= 7


def test_render_token_grid_extremes():
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(5, 1, 28, 28, generator=gen)
    indices = torch.randint(0, 64, (5, 7, 7), generator=gen)
    recons = images.clamp(0.1, 0.9)
    controls = [IntSlider("i", 0, 4, 0), Toggle("show_numbers", default=True)]
    stats = probe_render(lambda **p: render_token_grid(**p, images=images, indices=indices,
                                                       recons=recons, num_codes=64), controls)
    assert stats["calls"] >= 3
    fig = render_token_grid(2, True, images=images, indices=indices, recons=recons,
                            num_codes=64)
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert len(texts) == 49 and texts[0] == str(int(indices[2, 0, 0]))
    plt.close(fig)

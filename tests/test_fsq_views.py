"""lessonlib.views.fsq_grid: the staircases and what the figures show."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from lessonlib.quantizers.fsq import fsq_levels, fsq_quantize, paper_fsq_levels
from lessonlib.views.fsq_grid import (
    CONVENTIONS,
    COURSE,
    PAPER,
    course_staircase,
    paper_staircase,
    path_code_staircase,
    path_formula_staircase,
    reachable_levels,
    render_fsq_grid,
    render_grid_conventions,
)
from lessonlib.views.widgets import Choice, IntSlider, probe_render

SAMPLES = torch.randn(300, 2, generator=torch.Generator().manual_seed(0)) * 1.2


@pytest.mark.parametrize("level", [2, 3, 4, 5, 8, 16])
def test_course_staircase_is_fsq_quantize(level):
    z = torch.linspace(-6, 6, 999)
    _, quantized = course_staircase(z, level)
    assert torch.equal(quantized, fsq_quantize(z.view(1, 1, -1), (level,))[0].view(-1))
    assert reachable_levels(course_staircase, level) == fsq_levels(level).tolist()


@pytest.mark.parametrize("level", [2, 3, 4, 5, 8, 16])
def test_paper_staircase_reaches_the_paper_grid_inside_minus_one_one(level):
    levels = reachable_levels(paper_staircase, level, reach=12.0)
    assert levels == paper_fsq_levels(level).tolist()
    assert min(levels) == -1.0 and max(levels) <= 1.0
    assert (0.0 in levels), "the paper's grid always contains 0"
    _, at_zero = paper_staircase(torch.zeros(1), level)
    assert float(at_zero) == 0.0


def test_seed_versions_have_the_wrong_number_of_levels():
    assert len(reachable_levels(path_code_staircase, 4)) == 3, "no half shift: L - 1 levels"
    assert len(reachable_levels(path_code_staircase, 5)) == 5, "odd L is fine"
    assert len(reachable_levels(path_formula_staircase, 4)) == 9, "round(L tanh z): 2L + 1"
    assert reachable_levels(path_formula_staircase, 5) == list(range(-5, 6))


def test_render_fsq_grid_titles_and_points():
    fig = render_fsq_grid(5, 4, COURSE, samples=SAMPLES)
    stair, grid, size = fig.axes
    assert "625" in size.get_title() and "9.3 bits" in size.get_title()
    assert "{-2, -1, 0, 1, 2}" in stair.get_title()
    codes = [line for line in grid.lines if line.get_marker() == "o"][0]
    assert len(codes.get_xdata()) == 25, "a 5 x 5 grid of codes for the first two channels"
    plt.close(fig)
    fig = render_fsq_grid(4, 1, PAPER, samples=SAMPLES)
    grid = fig.axes[1]
    codes = [line for line in grid.lines if line.get_marker() == "o"][0]
    assert sorted(np.asarray(codes.get_xdata()).tolist()) == [-1.0, -0.5, 0.0, 0.5]
    assert "4^1 = 4" in fig.axes[2].get_title()
    plt.close(fig)


def test_samples_snap_to_their_nearest_code():
    fig = render_fsq_grid(3, 2, COURSE, samples=SAMPLES)
    links = fig.axes[1].lines[0]
    xy = np.stack([links.get_xdata(), links.get_ydata()], 1).reshape(-1, 3, 2)  # [N, 3, 2]
    cont, snap = xy[:, 0], xy[:, 1]
    assert np.all(np.abs(cont - snap) <= 0.5 + 1e-6), "each point joins its rounding"
    assert set(np.unique(snap).tolist()) <= {-1.0, 0.0, 1.0}
    plt.close(fig)


def test_render_is_pure_and_handles_every_control_extreme():
    controls = [IntSlider("level", 2, 16, 5), IntSlider("dims", 1, 8, 4),
                Choice("grid", (COURSE, PAPER))]
    before = SAMPLES.clone()
    timing = probe_render(lambda level, dims, grid: render_fsq_grid(level, dims, grid,
                                                                     samples=SAMPLES),
                          controls)
    assert timing["calls"] >= 6
    assert torch.equal(SAMPLES, before)
    fig = render_fsq_grid(16, 8, COURSE, samples=SAMPLES)
    assert "4,294,967,296" in fig.axes[2].get_title()
    plt.close(fig)


def test_conventions_figure_has_a_row_per_level():
    fig = render_grid_conventions((4, 5))
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    labels = [t.get_text() for t in fig.axes[3].get_yticklabels()]
    assert labels == list(CONVENTIONS)
    counts = [t.get_text() for t in fig.axes[1].texts]
    assert counts == ["4 levels", "4 levels", "3 levels", "9 levels"]
    plt.close(fig)

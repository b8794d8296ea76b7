"""lessonlib.views for chapter 10: the Gumbel simplex, MaskGIT's steps, samples per class."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lessonlib.priors.gumbel import gumbel_noise  # noqa: E402
from lessonlib.views.class_samples import render_class_samples  # noqa: E402
from lessonlib.views.gumbel_simplex import CORNERS, render_gumbel_simplex, simplex_xy  # noqa: E402
from lessonlib.views.maskgit_steps import (  # noqa: E402
    fill_masked,
    render_maskgit_steps,
    token_colours,
)


def test_simplex_corners_and_centre():
    xy = simplex_xy(torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1 / 3, 1 / 3, 1 / 3]]))
    assert np.allclose(xy[:3], CORNERS)
    assert np.allclose(xy[3], CORNERS.mean(0))


@pytest.mark.parametrize("tau,hard", [(0.05, False), (5.0, False), (0.5, True)])
def test_render_gumbel_simplex(tau, hard):
    noise = gumbel_noise((200, 3), torch.Generator().manual_seed(0))
    fig = render_gumbel_simplex(tau, hard, logits=torch.tensor([1.0, 2.0, 3.0]), noise=noise)
    assert isinstance(fig, Figure)
    bars = fig.axes[1]
    heights = [p.get_height() for p in bars.patches]
    assert np.isclose(sum(heights[3:6]), 1.0)  # argmax frequencies sum to 1
    plt.close(fig)


def test_render_maskgit_steps_clips_the_step():
    grids = {4: torch.randint(-1, 5, (4, 3, 7, 7))}
    images = {4: torch.rand(4, 3, 1, 28, 28)}
    for step in (1, 4, 16):
        fig = render_maskgit_steps(step, 4, grids=grids, images=images)
        assert isinstance(fig, Figure) and len(fig.axes) == 2
        plt.close(fig)


def test_token_colours_grey_out_masked_cells():
    rgb = token_colours(torch.tensor([[[-1, 0], [21, 1]]]))
    assert rgb.shape == (1, 3, 2, 2)
    assert torch.allclose(rgb[0, :, 0, 0], torch.full((3,), 0.35))
    assert torch.allclose(rgb[0, :, 1, 0], rgb[0, :, 1, 1])  # 21 and 1 share a colour


def test_fill_masked_uses_the_blank_code():
    grid = torch.tensor([[-1, 3], [2, -1]])
    assert fill_masked(grid, 7).tolist() == [[7, 3], [2, 7]]


def test_render_class_samples_counts_agreement():
    samples = {("AR", 1.0): torch.rand(10, 16, 1, 28, 28)}
    verdicts = {("AR", 1.0): torch.arange(10).unsqueeze(1).repeat(1, 16)}
    verdicts[("AR", 1.0)][7, :4] = 1
    fig = render_class_samples(7, 1.0, "AR", samples=samples, verdicts=verdicts)
    assert "12 of 16" in fig.axes[0].get_title()
    plt.close(fig)

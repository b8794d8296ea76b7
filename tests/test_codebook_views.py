"""lessonlib.views.usage_plots and lessonlib.views.codebook_usage: what the figures show."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from lessonlib.core.information import perplexity_of_counts
from lessonlib.quantizers.codebook import codebook_perplexity
from lessonlib.views.codebook_usage import render_codebook_usage
from lessonlib.views.usage_plots import (
    DEAD_COLOR,
    LIVE_COLOR,
    code_counts,
    counts_histogram,
    usage_histogram,
)
from lessonlib.views.widgets import Choice, IntSlider, Toggle, probe_render


def _stairs(ax, color):
    return [p for p in ax.patches if np.allclose(p.get_facecolor(), to_rgba(color))]


def test_code_counts_is_a_bincount_over_all_codes():
    counts = code_counts(torch.tensor([[0, 0, 3], [3, 3, 1]]), 6)
    assert counts.tolist() == [2, 1, 0, 3, 0, 0]


def test_usage_histogram_marks_dead_codes_in_red():
    fig, ax = plt.subplots()
    usage_histogram(ax, torch.tensor([0, 0, 1, 5]), 8, title="demo")
    assert "3/8 codes used, 5 dead" in ax.get_title()
    assert "demo" in ax.get_title()
    assert len(_stairs(ax, LIVE_COLOR)) == 1 and len(_stairs(ax, DEAD_COLOR)) == 1
    red = _stairs(ax, DEAD_COLOR)[0].get_data()
    assert int((red.values > red.baseline).sum()) == 5, "one red step per dead code"
    assert ax.get_xlim() == (-0.5, 7.5)
    plt.close(fig)


def test_sorted_histogram_puts_dead_codes_last_and_unsorted_keeps_order():
    fig, (a, b) = plt.subplots(1, 2)
    counts = np.array([0, 5, 0, 2])
    counts_histogram(a, counts, sort=True)
    counts_histogram(b, counts, sort=False, log=True)
    red = _stairs(a, DEAD_COLOR)[0].get_data()
    assert (red.values > red.baseline).tolist() == [False, False, True, True]
    red = _stairs(b, DEAD_COLOR)[0].get_data()
    assert (red.values > red.baseline).tolist() == [True, False, True, False]
    blue = _stairs(b, LIVE_COLOR)[0].get_data()
    assert (blue.values > blue.baseline).tolist() == [False, True, False, True]
    assert b.get_yscale() == "log" and b.get_ylim()[0] > 0
    plt.close(fig)


def test_healthy_codebook_has_no_red():
    fig, ax = plt.subplots()
    usage_histogram(ax, torch.arange(16), 16)
    assert _stairs(ax, DEAD_COLOR) == []
    assert "0 dead" in ax.get_title()
    plt.close(fig)


def test_perplexity_of_counts_matches_the_reference():
    indices = torch.tensor([0, 0, 0, 1, 2, 2])
    counts = code_counts(indices, 10)
    assert perplexity_of_counts(counts) == pytest.approx(float(codebook_perplexity(indices, 10)),
                                                         rel=1e-6)


def _snapshots():
    rng = np.random.default_rng(0)
    steps = [0, 50, 100, 150]
    counts = {"gradient": rng.poisson(3.0, (4, 64)) * (np.arange(64) < 10),
              "EMA + revival": rng.poisson(3.0, (4, 64)) + 1}
    return steps, counts


def test_render_at_the_controls_extremes():
    steps, counts = _snapshots()
    controls = [IntSlider("snapshot", 0, 3, 1), Choice("method", tuple(counts), "gradient"),
                Toggle("log", True)]
    timing = probe_render(
        lambda snapshot, method, log: render_codebook_usage(snapshot, method, steps=steps,
                                                            counts=counts, log=log), controls)
    assert timing["calls"] >= 5


def test_render_titles_report_the_snapshot():
    steps, counts = _snapshots()
    fig = render_codebook_usage(3, "gradient", steps=steps, counts=counts)
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert any("gradient, step 150" in t and "54 dead" in t for t in titles)
    plt.close(fig)
    fig = render_codebook_usage(99, "EMA + revival", steps=steps, counts=counts)  # clamped
    assert any("step 150" in ax.get_title() and "0 dead" in ax.get_title() for ax in fig.axes)
    plt.close(fig)

"""lessonlib.views: the patch view, the training-progress slider, the pipeline diagram."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from lessonlib.tokenizers.patchgan import PatchDiscriminator, receptive_box  # noqa: E402
from lessonlib.views.patch_view import render_patch_view  # noqa: E402
from lessonlib.views.tokenizer_pipeline import pipeline_figure  # noqa: E402
from lessonlib.views.training_progress import render_training_progress  # noqa: E402
from lessonlib.views.widgets import IntSlider, probe_render  # noqa: E402


def patch_inputs():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 1, 28, 28, generator=g)
    recons = torch.rand(3, 1, 28, 28, generator=g)
    disc = PatchDiscriminator(1, 4, 1).eval()
    with torch.no_grad():
        real, fake = disc(images), disc(recons)
    return dict(images=images, recons=recons, logits_real=real, logits_fake=fake,
                geometry=disc.geometry)


@pytest.mark.parametrize("row, col", [(0, 0), (11, 11), (5, 7), (99, -3)])
def test_patch_view_draws_the_clipped_field(row, col):
    inputs = patch_inputs()
    fig = render_patch_view(1, row, col, **inputs)
    assert isinstance(fig, Figure)
    r, c = min(max(row, 0), 11), min(max(col, 0), 11)
    top, left, bottom, right = receptive_box(inputs["geometry"], r, c)
    boxes = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert len(boxes) == 1
    x0, y0 = boxes[0].get_xy()
    assert (x0 + 0.5, y0 + 0.5) == (max(left, 0), max(top, 0))
    assert boxes[0].get_width() == min(right, 27) - max(left, 0) + 1
    value = float(inputs["logits_real"][1, 0, r, c])
    assert f"this one: {value:+.2f}" in fig.axes[1].get_title()
    plt.close(fig)


def test_patch_view_renders_at_slider_extremes():
    inputs = patch_inputs()
    timing = probe_render(lambda i, row, col: render_patch_view(i, row, col, **inputs),
                          [IntSlider("i", 0, 2, 0), IntSlider("row", 0, 11, 6),
                           IntSlider("col", 0, 11, 6)])
    assert timing["calls"] >= 6


def progress_inputs(steps=(0, 5, 10)):
    g = torch.Generator().manual_seed(1)
    snaps = {name: {"steps": list(steps),
                    "images": [torch.rand(4, 1, 28, 28, generator=g) for _ in steps],
                    "metrics": {"psnr": [10.0 + i for i in range(len(steps))],
                                "frechet": [5.0 - i for i in range(len(steps))]}}
             for name in ("A", "B", "C")}
    return torch.rand(4, 1, 28, 28, generator=g), snaps


def test_training_progress_shows_every_run_and_metric():
    real, snaps = progress_inputs()
    fig = render_training_progress(1, real=real, snapshots=snaps)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "real test digits"
    for name in snaps:
        assert any(t.startswith(f"{name}, step 5: psnr 11.00, frechet 4.00") for t in titles)
    assert "psnr" in titles and "frechet" in titles
    plt.close(fig)
    for index in (-1, 0, 2, 7):  # out-of-range indices are clipped
        plt.close(render_training_progress(index, real=real, snapshots=snaps))


def test_pipeline_figure_names_the_three_latents():
    fig = pipeline_figure()
    text = " ".join(t.get_text() for t in fig.axes[0].texts)
    for word in ("continuous", "codebook", "lookup-free", "prior", "decoder", "encoder"):
        assert word in text
    plt.close(fig)

"""lessonlib.views.loss_ablation: the break-it lab's switches pick the run trained that way."""

from __future__ import annotations

import itertools

import matplotlib
import pytest
import torch
from matplotlib.figure import Figure

from lessonlib.autoencoders import MLPVAE
from lessonlib.autoencoders.vae_evaluation import snapshot
from lessonlib.views.loss_ablation import KL_SETTINGS, ablation_loss, render_loss_ablation

matplotlib.use("Agg")
SWITCHES = list(itertools.product([True, False], KL_SETTINGS))


@pytest.fixture(scope="module")
def runs():
    """Six distinct snapshots, one per switch setting (untrained models: only the picking and
    the drawing are under test)."""
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(30, 1, 28, 28, generator=g) > 0.7).float()  # [30, 1, 28, 28]
    labels = torch.arange(30) % 10
    out = {}
    for i, key in enumerate(SWITCHES):
        torch.manual_seed(i)
        out[key] = snapshot(MLPVAE(h_dim=16, z_dim=3), x, labels, x[:4], beta=KL_SETTINGS[key[1]],
                            n_samples=8, seed=i)
    return out, x[:4]


def test_the_loss_text_names_exactly_the_terms_switched_on():
    assert ablation_loss(True, "on") == "recon + 1 * KL"
    assert ablation_loss(True, "off") == "recon"
    assert ablation_loss(False, "heavy") == "100 * KL"
    assert ablation_loss(False, "off").startswith("nothing")


@pytest.mark.parametrize("switch", SWITCHES)
def test_every_setting_draws_its_own_run(runs, switch):
    snapshots, originals = runs
    notes = {switch: "a note"}
    fig = render_loss_ablation(*switch, runs=snapshots, originals=originals, notes=notes)
    assert isinstance(fig, Figure)
    s = snapshots[switch]
    title = fig._suptitle.get_text()
    assert f"recon {s.recon:.1f} nats" in title and f"KL {s.kl:.1f} nats" in title
    assert "a note" in title
    row_title = fig.axes[0].get_title(loc="left")
    assert ablation_loss(*switch) in row_title
    matplotlib.pyplot.close(fig)


def test_a_missing_run_or_setting_is_named(runs):
    snapshots, originals = runs
    partial = {k: v for k, v in snapshots.items() if k != (False, "off")}
    with pytest.raises(KeyError, match="reconstruction=False"):
        render_loss_ablation(False, "off", runs=partial, originals=originals)
    with pytest.raises(ValueError, match="kl must be one of"):
        render_loss_ablation(True, "half", runs=snapshots, originals=originals)

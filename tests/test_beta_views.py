"""lessonlib.autoencoders.vae_evaluation (snapshots of VAEs) and the views that draw them."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from lessonlib.autoencoders import MLPVAE
from lessonlib.autoencoders.disentanglement import latent_traversal
from lessonlib.autoencoders.gaussian import iwae_bound
from lessonlib.autoencoders.vae_evaluation import (
    VAESnapshot,
    evaluate_vae,
    iwae_log_weights,
    snapshot,
)
from lessonlib.autoencoders.vae_objective import kl_per_dim
from lessonlib.views.beta_tradeoff import render_beta_tradeoff, render_vae_runs

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = MLPVAE(h_dim=32, z_dim=4)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(40, 1, 28, 28, generator=g) > 0.7).float()  # [40, 1, 28, 28]
    labels = torch.arange(40) % 10
    return model, x, labels


def test_snapshot_figures_match_a_direct_computation(tiny):
    model, x, labels = tiny
    s = snapshot(model, x, labels, x[:5], label="t", beta=2.0, n_samples=6, seed=3)
    assert isinstance(s, VAESnapshot) and s.beta == 2.0
    with torch.no_grad():
        mu, logvar = model.encode(x)
    assert torch.allclose(s.kl_dims, kl_per_dim(mu, logvar).mean(0))
    assert math.isclose(s.kl, float(s.kl_dims.sum()), rel_tol=1e-6)
    assert s.reconstructions.shape == (5, 1, 28, 28) and s.samples.shape == (6, 1, 28, 28)
    assert 0 <= float(s.reconstructions.min()) and float(s.reconstructions.max()) <= 1
    assert s.z2.shape == (40, 2) and isinstance(s.active, int)
    # recon is the Bernoulli NLL of one posterior sample: close to the mean-code NLL here
    with torch.no_grad():
        at_mu = F.binary_cross_entropy_with_logits(model.decode(mu), x.reshape(40, -1),
                                                   reduction="none").sum(1).mean()
    assert abs(s.recon - float(at_mu)) < 0.05 * float(at_mu)
    assert model.training, "snapshot restores the training mode"


def _snapshots(tiny, betas=(0.0, 1.0, 100.0)):
    model, x, labels = tiny
    return [snapshot(model, x, labels, x[:4], beta=b, n_samples=8) for b in betas]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_render_beta_tradeoff_draws_five_panels(tiny, index):
    snaps = _snapshots(tiny)
    fig = render_beta_tradeoff(index, snapshots=snaps, originals=tiny[1][:4])
    assert isinstance(fig, Figure) and len(fig.axes) == 5
    matplotlib.pyplot.close(fig)


def test_render_vae_runs_draws_one_row_per_run(tiny):
    snaps = _snapshots(tiny)
    fig = render_vae_runs({f"run {i}": s for i, s in enumerate(snaps)}, originals=tiny[1][:4])
    assert isinstance(fig, Figure) and len(fig.axes) == 3 * len(snaps)
    matplotlib.pyplot.close(fig)


def test_evaluate_vae_is_reproducible_and_consistent(tiny):
    model, x, _ = tiny
    torch.manual_seed(5)
    state = torch.random.get_rng_state()
    a, b = evaluate_vae(model, x, seed=1), evaluate_vae(model, x, seed=1, batch_size=7)
    assert torch.equal(torch.random.get_rng_state(), state), "global RNG untouched"
    assert math.isclose(a["nelbo"], a["recon"] + a["kl"], rel_tol=1e-6)
    assert math.isclose(a["kl"], b["kl"], rel_tol=1e-5) and a["mu"].shape == (40, 4)


def test_iwae_log_weights_k1_is_an_elbo_sample_and_the_bound_grows(tiny):
    model, x, _ = tiny
    with torch.no_grad():
        log_w = iwae_log_weights(model, x, 200, seed=0)  # [200, 40]
        mu, logvar = model.encode(x)
    assert log_w.shape == (200, 40)
    # the mean of log w over samples estimates the ELBO (closed-form KL version)
    with torch.no_grad():
        elbo = -evaluate_vae(model, x, seed=0)["nelbo"]
    assert abs(float(log_w.mean()) - elbo) < 0.02 * abs(elbo)
    b1 = float(iwae_bound(log_w[:1]).mean())
    b50 = float(iwae_bound(log_w[:50]).mean())
    assert b50 >= b1 - 1e-6
    assert torch.isfinite(log_w).all() and mu.shape == logvar.shape


def test_latent_traversal_changes_one_dim_per_row(tiny):
    model, x, _ = tiny
    values = torch.linspace(-2, 2, 5)
    frames = latent_traversal(model, x[:1], [0, 3], values)
    assert frames.shape == (10, 1, 28, 28)
    with torch.no_grad():
        mu, _ = model.encode(x[:1])
        z = mu.repeat(5, 1)
        z[:, 3] = values
        want = torch.sigmoid(model.decode(z)).reshape(5, 1, 28, 28)
    assert torch.allclose(frames[5:], want)

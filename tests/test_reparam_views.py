"""The chapter 2 and 3 interactives: pure renders, at every control's extremes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lessonlib.autoencoders.vae_evaluation import VAESnapshot  # noqa: E402
from lessonlib.views.elbo_tradeoff import (  # noqa: E402
    nearest_run,
    render_elbo_tradeoff,
)
from lessonlib.views.reparameterization import (  # noqa: E402
    noise,
    render_reparameterization,
)


@pytest.mark.parametrize("mu", [-3.0, 1.0, 3.0])
@pytest.mark.parametrize("sigma", [0.1, 2.0])
@pytest.mark.parametrize("trick", [False, True])
def test_reparameterization_renders_at_extremes(mu, sigma, trick):
    fig = render_reparameterization(mu, sigma, seed=3, trick=trick)
    assert isinstance(fig, Figure)
    assert f"(mu {mu:.2f})" in fig.axes[0].get_title()
    assert f"(sigma {sigma:.2f})" in fig.axes[0].get_title()
    assert ("with the trick" if trick else "without the trick") in fig.axes[-1].get_title()
    plt.close(fig)


def test_reparameterization_noise_is_reproducible_and_changes_with_seed():
    assert (noise(0, 10) == noise(0, 10)).all()
    assert not (noise(0, 10) == noise(1, 10)).all()


def test_reparameterization_title_reports_the_samples():
    fig = render_reparameterization(2.0, 0.5, seed=0, n=60)
    title = fig.axes[0].get_title()
    z = 2.0 + 0.5 * noise(0, 60)
    assert f"mean {z.mean():.2f}" in title
    plt.close(fig)


def _runs():
    runs = []
    for i, beta in enumerate([0.125, 0.25, 1.0, 4.0, 8.0]):
        images = torch.rand(8, 1, 28, 28)
        runs.append(VAESnapshot(label="", beta=beta, recon=100.0 + 10 * i, kl=20.0 - 3 * i,
                                kl_dims=torch.ones(4), active=4, mismatch=0.0,
                                reconstructions=images, samples=images[:6],
                                z2=torch.zeros(8, 2), labels=torch.zeros(8)))
    return runs


def test_beta_run_and_nearest():
    runs = _runs()
    assert runs[2].negative_elbo == pytest.approx(runs[2].recon + runs[2].kl)
    assert nearest_run(runs, 0).beta == 1.0
    assert nearest_run(runs, -3).beta == 0.125
    assert nearest_run(runs, 1).beta in (1.0, 4.0)
    assert nearest_run(runs, 10).beta == 8.0


@pytest.mark.parametrize("log2_beta", [-3, 0, 3])
def test_elbo_tradeoff_renders(log2_beta):
    runs = _runs()
    fig = render_elbo_tradeoff(log2_beta, runs=runs, originals=torch.rand(8, 1, 28, 28))
    assert isinstance(fig, Figure)
    chosen = nearest_run(runs, log2_beta)
    titles = " | ".join(ax.get_title() for ax in fig.axes)
    assert f"beta = {chosen.beta:g}: recon {chosen.recon:.1f}, KL {chosen.kl:.1f}" in titles
    plt.close(fig)


"""The reconstruction / KL tug-of-war: VAEs trained in the notebook at several beta values.

Each `VAESnapshot` holds what one trained model produced (test reconstruction and KL, a few
reconstructions, a few samples decoded from the prior). The slider only picks a run: no
training and no model call happen in the render function.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from lessonlib.autoencoders.vae_evaluation import VAESnapshot
from lessonlib.views.plots import show_grid


def nearest_run(runs: list[VAESnapshot], log2_beta: float) -> VAESnapshot:
    """The run whose beta is closest to 2**log2_beta on a log scale."""
    return min(runs, key=lambda r: abs(math.log2(r.beta) - log2_beta))


def render_elbo_tradeoff(log2_beta: int = 0, *, runs: list[VAESnapshot],
                         originals: torch.Tensor) -> Figure:
    """Originals, reconstructions and prior samples of the chosen beta; both loss terms vs beta.

    originals: [n, 1, H, W] test digits in [0, 1] (the ones each run reconstructed).
    """
    run = nearest_run(runs, log2_beta)
    betas = [r.beta for r in runs]
    fig = plt.figure(figsize=(11, 4.2))
    grid = fig.add_gridspec(3, 3, width_ratios=[1.5, 1, 1], left=0.02, right=0.98,
                            bottom=0.13, top=0.88, wspace=0.35, hspace=0.35)
    n = originals.shape[0]
    show_grid(fig.add_subplot(grid[0, 0]), originals, n, "test digits")
    show_grid(fig.add_subplot(grid[1, 0]), run.reconstructions, n,
              f"reconstructions, beta = {run.beta:g}")
    show_grid(fig.add_subplot(grid[2, 0]), run.samples, run.samples.shape[0],
              "decoded from z ~ N(0, I): new digits?")

    terms = fig.add_subplot(grid[:, 1])
    terms.plot(betas, [r.recon for r in runs], "o-", color="tab:blue",
               label="reconstruction (BCE, nats)")
    terms.plot(betas, [r.kl for r in runs], "o-", color="tab:red", label="KL(q || prior), nats")
    terms.plot(betas, [r.negative_elbo for r in runs], "--", color="0.4", lw=1,
               label="recon + KL = -ELBO")
    terms.axvline(run.beta, color="tab:orange", lw=2, alpha=0.6)
    terms.set_xscale("log", base=2)
    terms.set_xlabel("beta (KL weight / reconstruction weight)")
    terms.set_ylim(bottom=0)
    terms.legend(fontsize=7, loc="center left")
    terms.set_title(f"beta = {run.beta:g}: recon {run.recon:.1f}, KL {run.kl:.1f}\n"
                    f"-ELBO {run.negative_elbo:.1f} nats", fontsize=9)

    plane = fig.add_subplot(grid[:, 2])
    plane.plot([r.kl for r in runs], [r.recon for r in runs], "o-", color="0.5")
    for r in runs:
        plane.annotate(f"{r.beta:g}", (r.kl, r.recon), textcoords="offset points",
                       xytext=(4, 4), fontsize=7)
    plane.plot([run.kl], [run.recon], "o", ms=11, color="tab:orange", alpha=0.7)
    plane.set_xlabel("rate: KL (nats)")
    plane.set_ylabel("distortion: reconstruction (nats)")
    plane.set_title("the same runs as a rate-distortion curve", fontsize=9)
    return fig

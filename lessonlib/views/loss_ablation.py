"""The break-it lab as switches: turn each term of the VAE loss off (or up) and see what the
model trained with that loss became.

Every combination is trained once in the notebook and summarised as a `VAESnapshot`
(lessonlib.autoencoders.vae_evaluation.snapshot); the render function only picks one and
draws it (lessonlib.views.beta_tradeoff.render_vae_runs), with the loss that was trained.

    runs = {(True, "on"): healthy, (True, "off"): beta0, ..., (False, "off"): untrained}
    render_loss_ablation(reconstruction=False, kl="on", runs=runs, originals=digits)
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from lessonlib.autoencoders.vae_evaluation import VAESnapshot
from lessonlib.views.beta_tradeoff import render_vae_runs

# the KL switch: its label in the widget, and the weight beta the model trained with
KL_SETTINGS = {"off": 0.0, "on": 1.0, "heavy": 100.0}


def ablation_loss(reconstruction: bool, kl: str) -> str:
    """The loss a switch setting trains, as text: 'recon + 1 * KL', '100 * KL', 'nothing'."""
    beta = KL_SETTINGS[kl]
    terms = (["recon"] if reconstruction else []) + ([f"{beta:g} * KL"] if beta else [])
    return " + ".join(terms) if terms else "nothing (no term left: the model stays untrained)"


def render_loss_ablation(reconstruction: bool = True, kl: str = "on", *,
                         runs: dict[tuple[bool, str], VAESnapshot], originals: torch.Tensor,
                         notes: dict[tuple[bool, str], str] | None = None) -> Figure:
    """One trained run of the lab: reconstructions, prior samples, KL per dim, and its loss.

    runs maps (reconstruction on?, kl setting in KL_SETTINGS) to the snapshot of the model
    trained that way; originals [n, 1, H, W] are the digits it reconstructed; notes (same
    keys) add one line of diagnosis under the title.
    """
    if kl not in KL_SETTINGS:
        raise ValueError(f"kl must be one of {sorted(KL_SETTINGS)}, got {kl!r}")
    key = (bool(reconstruction), kl)
    if key not in runs:
        raise KeyError(f"no trained run for reconstruction={key[0]}, kl={kl!r}")
    s = runs[key]
    fig = render_vae_runs({f"loss = {ablation_loss(*key)}": s}, originals=originals)
    note = (notes or {}).get(key, "")
    fig.suptitle(f"recon {s.recon:.1f} nats, KL {s.kl:.1f} nats, {s.active} active dims"
                 + (f"\n{note}" if note else ""), fontsize=9, x=0.01, ha="left")
    fig.subplots_adjust(top=0.62 if note else 0.72)
    return fig

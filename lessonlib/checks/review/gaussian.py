"""Pitfall clinic: the KL term summed over the batch (fix_kl_per_example).

The widely copied line `0.5 * (mu**2 + logvar.exp() - logvar - 1).sum()` sums over the
latent dimensions AND the batch: the KL then grows with the batch size while the
reconstruction term (a batch mean) does not, so the batch size silently becomes a factor in
beta. The fix returns one KL per example, [B], as chapter 3's `kl_standard_normal`.
"""

from __future__ import annotations

import torch

from lessonlib.autoencoders import gaussian
from lessonlib.checks.autoencoders.gaussian import check_kl_standard_normal, kl_oracle_per_dim
from lessonlib.checks.core import attempt, expect, fail, public_check, reject_slips

# B = 4 examples, D = 3 dimensions (B != D, so a sum over the wrong axis shows in the shape)
_MU = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.3, -0.7], [1.2, 0.0, 0.4], [-0.2, 0.9, 0.0]])
_LOGVAR = torch.tensor([[0.0, -1.0, 0.5], [-2.0, 0.2, 0.0], [0.3, -0.5, -1.5], [0.0, 0.0, 1.0]])


def _probe_batch(fn) -> None:
    """Doubling the batch (the same examples twice) must not change any example's KL."""
    per_dim = kl_oracle_per_dim(_MU, _LOGVAR)  # [B, D] float64
    got = attempt(fn, _MU.clone(), _LOGVAR.clone())
    expect(isinstance(got, torch.Tensor), "return a tensor: one KL per example, shape [B].")
    got = got.detach().double()
    if got.numel() == 1:
        reject_slips(got.reshape(()), {
            "still summed over the batch: one number for the whole batch, which doubles when "
            "the batch doubles, so the KL (and with it beta) scales with the batch size. Sum "
            "over the latent dimensions only, .sum(dim=-1): one KL per example, [B]":
                per_dim.sum(),
            "the KL no longer grows with the batch, but .mean() also averages over the latent "
            "dimensions: the KL comes out D times too small (beta / D in effect). Sum over "
            "the latent dimensions, .sum(dim=-1), one KL per example":
                per_dim.mean(),
            "that is the batch average of the per-example KL, the right value for the loss, "
            "but this function returns one KL per example ([B]): leave the average over the "
            "batch to the loss": per_dim.sum(-1).mean(),
        }, tol=1e-4)
        fail("you returned one number: return one KL per example, shape [B], summed over "
             "the latent dimensions.")
    expect(tuple(got.shape) != (3,), "you summed over the batch axis (dim 0), which gives one "
           "value per latent dimension [D]: sum over the latent dimensions, dim=-1, for one "
           "KL per example [B].")
    doubled = attempt(fn, torch.cat([_MU, _MU]), torch.cat([_LOGVAR, _LOGVAR]))
    expect(isinstance(doubled, torch.Tensor) and tuple(doubled.shape) == (8,),
           "for a batch of 8 the KL should have shape [8], one value per example.")
    expect(torch.allclose(doubled.detach().double(), torch.cat([got, got]), atol=1e-5),
           "an example's KL changed when the batch grew: each example's KL must depend on "
           "that example only.")


@public_check("fix_kl_per_example", reference=gaussian.kl_standard_normal)
def check_fix_kl_per_example(fn) -> None:
    """One KL per example whatever the batch size, then chapter 3's check of the KL."""
    _probe_batch(fn)
    check_kl_standard_normal.probe(fn)

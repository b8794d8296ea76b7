"""Public check for the latent scale factor (lessonlib.autoencoders.latent_scale).

The probes use latents whose four channels have different means and spreads (as a real
autoencoder's do), and name the slips: the standard deviation itself instead of its
inverse, the variance, the root mean square (the mean not subtracted), one factor per
channel, the spread over one axis only, a tensor instead of a number, an input changed in
place. The unbiased and the biased standard deviation agree to 1e-4 on these probes, so
either is accepted.
"""

from __future__ import annotations

import torch

from lessonlib.autoencoders import latent_scale as ref
from lessonlib.checks.core import (
    attempt_pure,
    close,
    expect,
    expect_number,
    public_check,
    reject_slips,
)

_MEANS = torch.tensor([3.0, -1.0, 5.0, 4.0])  # channel means: these latents are not centred
_STDS = torch.tensor([4.0, 6.5, 5.0, 7.5])  # channel spreads


def _latents(seed: int, shape=(16, 4, 8, 8)) -> torch.Tensor:
    """[B, 4, h, w] latents with per-channel means and spreads."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(shape, generator=gen)  # [B, 4, h, w]
    return z * _STDS.view(1, -1, 1, 1) + _MEANS.view(1, -1, 1, 1)


def _slips(z: torch.Tensor) -> dict:
    z = z.double()
    channel_std = z.transpose(0, 1).flatten(1).std(dim=1)  # [4]
    return {
        "you returned the standard deviation; the factor is its inverse, 1 / std (it "
        "multiplies the latents to give them a spread of 1).": float(z.std()),
        "you divided by the variance; the factor is 1 / the standard deviation.":
            float(1 / z.var()),
        "you divided by the root mean square, sqrt(mean(z ** 2)): subtract the mean first "
        "(the standard deviation), because these latents do not have mean 0.":
            float(1 / z.pow(2).mean().sqrt()),
        "you averaged one factor per channel; the factor is one number, 1 / the standard "
        "deviation of all values together.": float((1 / channel_std).mean()),
        "you inverted the average of the per-channel standard deviations; take the standard "
        "deviation of all values together (flatten first).": float(1 / channel_std.mean()),
        "you took the spread over the batch dimension only (dim=0) and averaged it: the "
        "factor uses every value, over batch, channels and positions.":
            float(1 / z.std(dim=0).mean()),
        "you used the absolute mean instead of the standard deviation.":
            float(1 / z.abs().mean()),
    }


@public_check("latent_scale_factor", reference=ref.latent_scale_factor)
def check_latent_scale_factor(fn) -> None:
    """One number, 1 / std of all values, for latents with channel-wise means and spreads."""
    z = _latents(0)
    got = expect_number(attempt_pure(fn, z, names="latents"))
    want = ref.latent_scale_factor(z)
    reject_slips(got, _slips(z), want=want, tol=2e-3)
    expect(close(got, want, 1e-3), f"for latents whose values spread with a standard "
           f"deviation of {1 / want:.3f}, the factor should be {want:.5f}, got {got:.5f}.")
    scaled = (z * got).double()
    expect(abs(float(scaled.std()) - 1.0) < 1e-3, "multiplying the latents by your factor "
           "should give them a standard deviation of 1.")
    other = _latents(1, (3, 4, 16, 16)) * 0.01
    got_other = expect_number(attempt_pure(fn, other, names="latents"))
    want_other = ref.latent_scale_factor(other)
    expect(close(got_other, want_other, 1e-3), f"for other latents ([3, 4, 16, 16], a spread "
           f"100 times smaller) the factor should be {want_other:.4f}, got {got_other:.4f}.")

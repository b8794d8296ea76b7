"""lessonlib.autoencoders.latent_scale: the factor against numpy's standard deviation, its
invariances, and the published values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.autoencoders.latent_scale import PUBLISHED, latent_scale_factor


@pytest.mark.parametrize("shape", [(8, 4, 8, 8), (1000,), (3, 16, 5, 5)])
def test_factor_is_one_over_the_std_of_all_values(shape):
    z = torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 5.49 + 1.3
    want = 1.0 / np.std(z.numpy().ravel(), ddof=1)  # numpy, unbiased, as torch.std
    got = latent_scale_factor(z)
    assert isinstance(got, float)
    assert got == pytest.approx(want, rel=1e-6)
    assert float((z * got).double().std()) == pytest.approx(1.0, abs=1e-6)


def test_invariances_and_errors():
    z = torch.randn(4, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    f = latent_scale_factor(z)
    assert latent_scale_factor(z + 7.0) == pytest.approx(f, rel=1e-5)
    assert latent_scale_factor(3.0 * z) == pytest.approx(f / 3, rel=1e-6)
    assert latent_scale_factor(z.requires_grad_()) == pytest.approx(f)  # no graph needed
    with pytest.raises(ValueError):
        latent_scale_factor(torch.ones(10))


def test_published_factors():
    assert PUBLISHED["Stable Diffusion 1.x"][:3] == (4, 0.18215, 0.0)
    assert PUBLISHED["SDXL"][:3] == (4, 0.13025, 0.0)
    assert PUBLISHED["Stable Diffusion 3"][:3] == (16, 1.5305, 0.0609)
    assert PUBLISHED["FLUX.1"][:3] == (16, 0.3611, 0.1159)
    assert all(isinstance(entry[3], str) and entry[3] for entry in PUBLISHED.values())

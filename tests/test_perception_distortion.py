"""lessonlib.autoencoders.perception_distortion: Monte Carlo against the closed forms, and
the posterior against an independent oracle (conditioning the joint Gaussian of z and x)."""

from __future__ import annotations

import pytest
import torch

from lessonlib.autoencoders.linear_gaussian import LinearGaussian
from lessonlib.autoencoders.perception_distortion import (
    estimate_covariance,
    estimates,
    family_point,
    mmse,
    posterior_covariance,
    sample_model,
)


@pytest.fixture(scope="module")
def model():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(12, 3, generator=g, dtype=torch.float64)
    return LinearGaussian(W, torch.randn(12, generator=g, dtype=torch.float64), 2.0)


def test_posterior_covariance_matches_joint_gaussian_conditioning(model):
    cov_x = model.W @ model.W.T + model.s2 * torch.eye(12, dtype=torch.float64)
    cross = model.W.T  # Cov(z, x) = W^T
    want = torch.eye(3, dtype=torch.float64) - cross @ torch.linalg.solve(cov_x, cross.T)
    assert torch.allclose(posterior_covariance(model), want, atol=1e-10)
    assert mmse(model) == pytest.approx(float(torch.trace(want)))


@pytest.mark.parametrize("kind, alpha", [("noise", 0.0), ("noise", 0.5), ("noise", 1.0),
                                         ("scale", 0.5), ("scale", 1.0)])
def test_monte_carlo_matches_the_closed_forms(model, kind, alpha):
    z, x = sample_model(model, 60000, torch.Generator().manual_seed(1))
    z_hat = estimates(model, x, alpha, kind, torch.Generator().manual_seed(2))
    mse, _ = family_point(model, alpha, kind)
    assert float((z - z_hat).pow(2).sum(1).mean()) == pytest.approx(mse, rel=0.02)
    empirical = torch.cov(z_hat.T)
    assert torch.allclose(empirical, estimate_covariance(model, alpha, kind), atol=0.03)


def test_the_ends_of_the_trade_off(model):
    d_star = mmse(model)
    mse0, w0 = family_point(model, 0.0, "noise")
    mse1, w1 = family_point(model, 1.0, "noise")
    mse_r, w_r = family_point(model, 1.0, "scale")
    assert mse0 == pytest.approx(d_star) and w0 > 0.0
    assert mse1 == pytest.approx(2 * d_star) and w1 == pytest.approx(0.0, abs=1e-9)
    assert w_r == pytest.approx(0.0, abs=1e-9) and d_star < mse_r < 2 * d_star
    points = [family_point(model, a / 10, "noise") for a in range(11)]
    assert all(p[0] < q[0] and p[1] >= q[1] - 1e-12 for p, q in zip(points, points[1:]))
    with pytest.raises(ValueError):
        estimates(model, torch.zeros(1, 12), 0.5, "blend")

"""lessonlib.priors.frechet against independent oracles: closed forms, scipy's sqrtm, a
symmetric eigen-decomposition, and numpy's covariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.priors.frechet import (
    feature_statistics,
    frechet_distance,
    frechet_distance_of,
    trace_sqrt_product,
)


def random_covariance(d: int, seed: int, rank: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, rank or d + 3))
    return a @ a.T / a.shape[1]


def symmetric_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def oracle_eigh(mu1, s1, mu2, s2) -> float:
    """Tr (S1 S2)^(1/2) = Tr (S1^(1/2) S2 S1^(1/2))^(1/2), both symmetric: eigh only."""
    r1 = symmetric_sqrt(s1)
    inner = symmetric_sqrt(r1 @ s2 @ r1)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(inner))


def test_one_dimension_is_the_wasserstein_formula():
    # N(m1, a^2) vs N(m2, b^2): (m1 - m2)^2 + (a - b)^2
    d = frechet_distance(torch.tensor([1.0]), torch.tensor([[4.0]]),
                         torch.tensor([-2.0]), torch.tensor([[9.0]]))
    assert d == pytest.approx(9.0 + 1.0)
    assert isinstance(d, float)


def test_commuting_diagonal_covariances():
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([0.5, 1.0, -1.0])
    want = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(want)


@pytest.mark.parametrize("d,seed", [(2, 0), (5, 1), (16, 2), (40, 3)])
def test_matches_scipy_sqrtm_and_eigh(d, seed):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(100 + seed)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = random_covariance(d, seed), random_covariance(d, seed + 50)
    root = scipy_linalg.sqrtm(s1 @ s2)
    want = float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * np.real(root)))
    got = frechet_distance(torch.tensor(mu1), torch.tensor(s1), torch.tensor(mu2),
                           torch.tensor(s2))
    assert got == pytest.approx(want, rel=1e-6, abs=1e-8)
    assert got == pytest.approx(oracle_eigh(mu1, s1, mu2, s2), rel=1e-6, abs=1e-8)


def test_rank_deficient_covariances_clamp_negative_eigenvalues():
    # Low-rank covariances: S1 S2 has eigenvalues that should be 0 and come out as tiny
    # negatives (or with tiny imaginary parts); they must not produce NaN.
    s1, s2 = random_covariance(20, 7, rank=3), random_covariance(20, 8, rank=4)
    mu = np.zeros(20)
    got = frechet_distance(mu, s1, mu, s2)
    assert np.isfinite(got)
    assert got == pytest.approx(oracle_eigh(mu, s1, mu, s2), rel=1e-6, abs=1e-8)
    assert trace_sqrt_product(s1, s1) == pytest.approx(np.trace(s1), rel=1e-6)


def test_identical_gaussians_are_at_distance_zero_and_symmetric():
    s1, s2 = random_covariance(8, 1), random_covariance(8, 2)
    mu1, mu2 = np.ones(8), np.zeros(8)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
        frechet_distance(mu2, s2, mu1, s1), rel=1e-9)


def test_float32_inputs_are_computed_in_float64():
    s1, s2 = random_covariance(30, 3), random_covariance(30, 4)
    mu1, mu2 = np.zeros(30), np.full(30, 0.1)
    want = frechet_distance(mu1, s1, mu2, s2)
    got = frechet_distance(torch.tensor(mu1, dtype=torch.float32),
                           torch.tensor(s1, dtype=torch.float32),
                           torch.tensor(mu2, dtype=torch.float32),
                           torch.tensor(s2, dtype=torch.float32))
    assert got == pytest.approx(want, rel=1e-5)


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(2))


def test_feature_statistics_match_numpy():
    feats = np.random.default_rng(0).normal(size=(50, 6)) * np.arange(1, 7)
    mu, sigma = feature_statistics(torch.tensor(feats, dtype=torch.float32))
    assert mu.dtype == torch.float64
    np.testing.assert_allclose(mu.numpy(), feats.mean(0), rtol=1e-6)
    np.testing.assert_allclose(sigma.numpy(), np.cov(feats, rowvar=False), rtol=1e-5)
    with pytest.raises(ValueError):
        feature_statistics(np.zeros((1, 6)))


def test_frechet_distance_of_samples_from_two_gaussians():
    # Large samples of N(0, I) and N(m, 4 I) in 3-D: d^2 -> |m|^2 + 3 (2 - 1)^2
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(200_000, 3, generator=gen, dtype=torch.float64)
    y = 2 * torch.randn(200_000, 3, generator=gen, dtype=torch.float64) + torch.tensor(
        [1.0, 0.0, -1.0], dtype=torch.float64)
    assert frechet_distance_of(x, y) == pytest.approx(2.0 + 3.0, rel=0.02)

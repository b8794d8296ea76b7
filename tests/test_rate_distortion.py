"""lessonlib.autoencoders.rate_distortion against independent oracles: the Gaussian R(D)
as a difference of differential entropies (torch.distributions), and reverse
water-filling against a brute-force search over all splits of the distortion."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.distributions import Normal

from lessonlib.autoencoders.rate_distortion import (
    gaussian_rate_distortion,
    gaussian_rate_for_distortion,
    rate_distortion_curve,
    water_filling,
)


def entropy_oracle(variance, distortion):
    """I(X; X_hat) of the optimal test channel X = X_hat + N, N ~ N(0, D): h(X) - h(N)."""
    zero = torch.tensor(0.0, dtype=torch.float64)
    nats = (Normal(zero, math.sqrt(variance)).entropy()
            - Normal(zero, math.sqrt(distortion)).entropy())
    return float(nats) / math.log(2)


@pytest.mark.parametrize("variance, distortion", [(1.0, 0.25), (3.7, 0.1), (0.02, 0.019),
                                                  (50.0, 1e-3), (2.0, 1.999)])
def test_gaussian_rate_equals_the_test_channel_information(variance, distortion):
    assert gaussian_rate_distortion(variance, distortion) == pytest.approx(
        entropy_oracle(variance, distortion), abs=1e-12)


def test_no_bits_at_or_above_the_variance_and_errors():
    assert gaussian_rate_distortion(1.0, 1.0) == 0.0
    assert gaussian_rate_distortion(1.0, 5.0) == 0.0
    assert isinstance(gaussian_rate_distortion(2.0, 0.5), float)
    for bad in [(0.0, 1.0), (1.0, 0.0), (-1.0, 0.5)]:
        with pytest.raises(ValueError):
            gaussian_rate_distortion(*bad)


def brute_force_rate(variances, total, steps=400):
    """The least total rate over every split of `total` into per-component distortions on a
    grid (components get at most their variance): an oracle for water-filling."""
    best = math.inf
    grid = [total * i / steps for i in range(1, steps)]
    for shares in itertools.product(grid, repeat=len(variances) - 1):
        last = total - sum(shares)
        if last <= 0:
            continue
        split = [*shares, last]
        rate = sum(max(0.0, 0.5 * math.log2(v / min(d, v))) for v, d in zip(variances, split))
        best = min(best, rate)
    return best


@pytest.mark.parametrize("variances, total", [([4.0, 1.0], 1.0), ([4.0, 1.0], 2.5),
                                              ([9.0, 0.5], 1.0), ([2.0, 2.0], 1.0)])
def test_water_filling_is_the_optimal_split(variances, total):
    got = gaussian_rate_for_distortion(variances, total)
    assert got == pytest.approx(brute_force_rate(variances, total), abs=2e-3)
    assert got <= brute_force_rate(variances, total) + 1e-9  # never worse than any split


def test_water_filling_components_below_the_level_cost_nothing():
    rate, distortion = water_filling([4.0, 1.0, 0.25], theta=0.5)
    assert distortion == pytest.approx(0.5 + 0.5 + 0.25)
    assert rate == pytest.approx(0.5 * math.log2(8) + 0.5 * math.log2(2))


def test_curve_is_decreasing_and_inverts_rate_for_distortion():
    variances = torch.tensor([5.0, 2.0, 1.0, 0.3, 0.01])
    rates, distortions = rate_distortion_curve(variances, n=60)
    assert all(a <= b + 1e-12 for a, b in zip(distortions, distortions[1:]))
    assert all(a >= b - 1e-12 for a, b in zip(rates, rates[1:]))
    assert rates[-1] == 0.0 and distortions[-1] == pytest.approx(float(variances.sum()))
    for r, d in list(zip(rates, distortions))[5:-1:7]:
        assert gaussian_rate_for_distortion(variances, d) == pytest.approx(r, abs=1e-6)
    assert gaussian_rate_for_distortion(variances, 100.0) == 0.0


def test_rate_fn_is_pluggable():
    calls = []

    def counting(v, d):
        calls.append((v, d))
        return gaussian_rate_distortion(v, d)

    water_filling([1.0, 2.0], 0.5, rate_fn=counting)
    assert calls == [(1.0, 0.5), (2.0, 0.5)]

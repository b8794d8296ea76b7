"""The two gradient estimators: unbiased, with the variances their closed forms predict."""

from __future__ import annotations

import pytest
import torch

from lessonlib.autoencoders.score_function import (
    pathwise_estimates,
    quadratic_gradient,
    quadratic_variances,
    score_function_estimates,
)


def f(z):
    return (z - 3.0) ** 2


@pytest.mark.parametrize("mu, sigma", [(0.0, 1.0), (1.0, 0.5)])
def test_estimators_are_unbiased_with_the_predicted_variance(mu, sigma):
    torch.manual_seed(0)
    n, repeats = 8, 20_000
    closed = quadratic_variances(mu, sigma, 3.0)
    true = quadratic_gradient(mu, 3.0)
    path = pathwise_estimates(f, mu, sigma, n, repeats)
    score = score_function_estimates(f, mu, sigma, n, repeats)
    for estimates, var in [(path, closed["pathwise"]), (score, closed["score function"])]:
        assert estimates.shape == (repeats,)
        se = (var / n / repeats) ** 0.5
        assert abs(float(estimates.mean()) - true) < 5 * se
        assert float(estimates.var()) == pytest.approx(var / n, rel=0.1)


def test_closed_form_variances_by_sampling():
    torch.manual_seed(1)
    mu, sigma, c = 0.5, 1.3, 3.0
    eps = torch.randn(2_000_000, dtype=torch.float64)
    z = mu + sigma * eps
    path_term = 2 * (z - c)
    score_term = (z - c) ** 2 * eps / sigma
    closed = quadratic_variances(mu, sigma, c)
    assert float(path_term.var()) == pytest.approx(closed["pathwise"], rel=0.01)
    assert float(score_term.var()) == pytest.approx(closed["score function"], rel=0.02)


def test_baseline_keeps_the_mean_and_cuts_the_variance():
    torch.manual_seed(2)
    plain = score_function_estimates(f, 0.0, 1.0, 16, 10_000)
    based = score_function_estimates(f, 0.0, 1.0, 16, 10_000, baseline=True)
    assert abs(float(based.mean()) + 6.0) < 0.15
    assert float(based.var()) < 0.6 * float(plain.var())
    with pytest.raises(ValueError):
        score_function_estimates(f, 0.0, 1.0, 1, 10, baseline=True)


def test_pathwise_is_blind_to_a_step_and_score_function_is_not():
    torch.manual_seed(3)

    def step(z):
        return 0.5 * (torch.sign(z) + 1)

    assert float(pathwise_estimates(step, 0.0, 1.0, 1000, 3).abs().max()) == 0.0
    assert float(pathwise_estimates(lambda z: (z > 0).double(), 0.0, 1.0, 10, 2).abs().max()) == 0
    estimate = float(score_function_estimates(step, 0.0, 1.0, 20_000, 1, baseline=True)[0])
    assert abs(estimate - 0.3989) < 0.03


def test_pathwise_uses_the_given_sampler():
    calls = []

    def sampler(mu, logvar):
        calls.append(mu.shape)
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    pathwise_estimates(f, 0.0, 1.0, 5, 4, sample=sampler)
    assert calls == [torch.Size([4, 5])]

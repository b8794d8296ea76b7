"""lessonlib.priors.categorical_gradients: the exact gradient against autograd on the
enumerated expectation; REINFORCE unbiased; Gumbel-softmax biased, less noisy."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lessonlib.priors.categorical_gradients import (
    bias_and_variance,
    exact_gradient,
    gumbel_estimates,
    reinforce_estimates,
    squared_distance,
)

THETA = torch.tensor([0.5, -0.3, 1.0], dtype=torch.float64)
TARGET = torch.tensor([0.2, 0.9, 0.1], dtype=torch.float64)


def test_exact_gradient_equals_autograd_of_the_enumerated_expectation():
    theta = THETA.clone().requires_grad_(True)
    p = F.softmax(theta, 0)
    J = (p * squared_distance(torch.eye(3, dtype=torch.float64), TARGET)).sum()
    J.backward()
    assert torch.allclose(exact_gradient(THETA, TARGET), theta.grad, atol=1e-12)


def test_reinforce_is_unbiased_and_a_baseline_lowers_its_variance():
    g = torch.Generator().manual_seed(0)
    exact = exact_gradient(THETA, TARGET)
    plain = reinforce_estimates(THETA, TARGET, n=10, repeats=20_000, generator=g)
    based = reinforce_estimates(THETA, TARGET, n=10, repeats=20_000, baseline=True,
                                generator=g)
    for est in (plain, based):
        assert torch.allclose(est.mean(0), exact, atol=0.01)
    assert bias_and_variance(based, exact)[1] < bias_and_variance(plain, exact)[1]


def test_gumbel_softmax_bias_shrinks_with_the_temperature():
    g = torch.Generator().manual_seed(1)
    exact = exact_gradient(THETA, TARGET)
    biases = [bias_and_variance(gumbel_estimates(THETA, TARGET, tau, n=10, repeats=5_000,
                                                 generator=g), exact)[0]
              for tau in (2.0, 0.5, 0.1)]
    assert biases[0] > biases[1] > biases[2]
    assert biases[2] < 0.02


def test_estimates_have_shape_repeats_by_k():
    g = torch.Generator().manual_seed(2)
    assert reinforce_estimates(THETA, TARGET, 4, 7, generator=g).shape == (7, 3)
    assert gumbel_estimates(THETA, TARGET, 0.5, 4, 7, hard=True, generator=g).shape == (7, 3)

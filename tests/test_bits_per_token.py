"""lessonlib.priors.scoring: bits per token and the count baselines, against direct sums."""

from __future__ import annotations

import math

import pytest
import torch

from lessonlib.priors.scoring import (
    baseline_logits,
    bits_per_token,
    marginal_log_probs,
    position_log_probs,
    sample_positions,
)


def oracle_bits(logits, targets):
    total, count = 0.0, 0
    for b in range(logits.shape[0]):
        for n in range(logits.shape[1]):
            p = torch.softmax(logits[b, n].double(), 0)
            total -= math.log2(float(p[targets[b, n]]))
            count += 1
    return total / count


@pytest.mark.parametrize("shape", [(2, 3, 5), (4, 49, 128), (1, 6, 6)])
def test_bits_per_token_matches_a_direct_sum(shape):
    g = torch.Generator().manual_seed(sum(shape))
    logits = 3 * torch.randn(*shape, generator=g)
    targets = torch.randint(0, shape[-1], shape[:2], generator=g)
    got = bits_per_token(logits, targets)
    assert isinstance(got, float)
    assert got == pytest.approx(oracle_bits(logits, targets), rel=1e-9)


def test_uniform_logits_cost_log2_k_and_confident_logits_are_stable():
    assert bits_per_token(torch.zeros(2, 3, 128), torch.zeros(2, 3, dtype=torch.long)) == \
        pytest.approx(7.0)
    big = torch.tensor([[[500.0, -500.0], [-500.0, 500.0]]])
    assert bits_per_token(big, torch.tensor([[0, 1]])) == pytest.approx(0.0, abs=1e-9)
    assert bits_per_token(big, torch.tensor([[1, 1]])) == pytest.approx(1000 / math.log(2) / 2)


def test_marginal_baseline_is_the_smoothed_frequency():
    tokens = torch.tensor([[0, 0, 1], [0, 2, 2]])
    logp = marginal_log_probs(tokens, 4, alpha=1.0)
    assert torch.allclose(logp.exp(), torch.tensor([4.0, 2.0, 3.0, 1.0], dtype=torch.float64) / 10)
    test = torch.tensor([[3, 0]])
    want = -(math.log2(0.1) + math.log2(0.4)) / 2
    assert bits_per_token(baseline_logits(logp, 1, 2), test) == pytest.approx(want)


def test_position_baseline_has_one_distribution_per_position():
    tokens = torch.tensor([[0, 1], [0, 1], [0, 2]])
    logp = position_log_probs(tokens, 3, alpha=0.5)  # [2, 3]
    assert torch.allclose(logp.exp().sum(1), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(logp[0].exp(), torch.tensor([3.5, 0.5, 0.5], dtype=torch.float64) / 4.5)
    assert torch.allclose(logp[1].exp(), torch.tensor([0.5, 2.5, 1.5], dtype=torch.float64) / 4.5)
    assert baseline_logits(logp, 5, 2).shape == (5, 2, 3)


def test_position_samples_follow_their_distributions():
    logp = torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=torch.float64))
    draws = sample_positions(logp, 50_000, torch.Generator().manual_seed(0))
    assert draws.shape == (50_000, 2)
    for n in range(2):
        freq = torch.bincount(draws[:, n], minlength=3).double() / 50_000
        assert torch.allclose(freq, logp[n].exp(), atol=0.01)

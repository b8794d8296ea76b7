"""lessonlib.priors.gumbel against independent oracles: the Gumbel distribution's moments,
softmax frequencies, and torch's own F.gumbel_softmax statistics."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lessonlib.priors.gumbel import (
    category_frequencies,
    gumbel_max_sample,
    gumbel_noise,
    gumbel_softmax,
)

EULER_GAMMA = 0.5772156649


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_gumbel_noise_has_the_gumbel_moments_and_is_finite():
    g = gumbel_noise((400_000,), gen(0))
    assert torch.isfinite(g).all()
    assert float(g.mean()) == pytest.approx(EULER_GAMMA, abs=0.01)
    assert float(g.var()) == pytest.approx(math.pi**2 / 6, rel=0.02)


def test_gumbel_noise_is_finite_when_the_uniform_hits_its_edges(monkeypatch):
    edges = torch.tensor([0.0, 1.0 - torch.finfo(torch.float32).eps / 4, 0.5])
    monkeypatch.setattr(torch, "rand", lambda *args, **kwargs: edges.clone())
    g = gumbel_noise((3,))
    assert torch.isfinite(g).all()
    assert float(g[2]) == pytest.approx(-math.log(math.log(2.0)), rel=1e-6)


@pytest.mark.parametrize("logits", [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0], [-2.0, 0.5, 4.0, 1.0]])
def test_gumbel_max_samples_softmax(logits):
    logits = torch.tensor(logits)
    draws = gumbel_max_sample(logits.expand(200_000, -1), gen(1))
    freq = category_frequencies(draws, len(logits))
    assert torch.allclose(freq, F.softmax(logits.double(), 0), atol=0.005)


def test_log_of_the_logits_samples_the_normalised_logits_instead():
    # the widely copied formula argmax(log(pi) + g) applied to logits 1, 2, 3
    logits = torch.tensor([1.0, 2.0, 3.0]).expand(200_000, -1)
    wrong = (torch.log(logits) + gumbel_noise(logits.shape, gen(2))).argmax(-1)
    freq = category_frequencies(wrong, 3)
    assert torch.allclose(freq, torch.tensor([1 / 6, 2 / 6, 3 / 6], dtype=torch.float64),
                          atol=0.005)
    right = category_frequencies(gumbel_max_sample(logits, gen(2)), 3)
    assert torch.allclose(right, torch.tensor([0.0900, 0.2447, 0.6652], dtype=torch.float64),
                          atol=0.005)


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0, 2.0])
def test_soft_samples_match_torch_gumbel_softmax_statistics(tau):
    logits = torch.tensor([0.5, -1.0, 2.0, 0.0]).expand(100_000, -1)
    ours = gumbel_softmax(logits, tau, generator=gen(3))
    torch.manual_seed(3)
    theirs = F.gumbel_softmax(logits, tau=tau, hard=False)
    assert torch.allclose(ours.sum(-1), torch.ones(100_000), atol=1e-5)
    assert torch.allclose(ours.mean(0), theirs.mean(0), atol=0.006)
    assert torch.allclose(ours.std(0), theirs.std(0), atol=0.006)
    assert torch.allclose((ours > 0.5).float().mean(0), (theirs > 0.5).float().mean(0),
                          atol=0.006)


def test_hard_samples_are_exact_one_hot_with_the_frequencies_of_torch():
    logits = torch.tensor([1.0, 2.0, 3.0]).expand(100_000, -1)
    ours = gumbel_softmax(logits, 0.5, hard=True, generator=gen(4))
    assert ours.dtype == torch.float32
    assert ((ours == 0) | (ours == 1)).all() and (ours.sum(-1) == 1).all()
    torch.manual_seed(4)
    theirs = F.gumbel_softmax(logits, tau=0.5, hard=True)
    assert torch.allclose(ours.mean(0), theirs.mean(0), atol=0.006)
    assert torch.allclose(ours.mean(0), F.softmax(logits[0], 0), atol=0.006)


def test_hard_is_the_argmax_of_the_same_soft_sample_with_its_gradient():
    logits = torch.randn(6, 5, generator=gen(5))
    a = logits.clone().requires_grad_(True)
    b = logits.clone().requires_grad_(True)
    hard = gumbel_softmax(a, 0.7, hard=True, generator=gen(6))
    soft = gumbel_softmax(b, 0.7, hard=False, generator=gen(6))
    assert torch.equal(hard.argmax(-1), soft.argmax(-1))
    w = torch.randn(6, 5, generator=gen(7))
    (hard * w).sum().backward()
    (soft * w).sum().backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-6)
    assert a.grad.abs().sum() > 0


def test_straight_through_matches_torch_gradient_formula():
    # F.gumbel_softmax(hard=True) builds y_hard - y_soft.detach() + y_soft too: with the
    # noise fixed (tau large enough to be smooth) the Jacobians agree with autograd's
    logits = torch.randn(3, 4, generator=gen(8), dtype=torch.float64)

    def soft_fn(x):
        return gumbel_softmax(x, 1.3, generator=gen(9))

    assert torch.autograd.gradcheck(soft_fn, (logits.clone().requires_grad_(True),))


def test_generator_makes_samples_reproducible():
    logits = torch.randn(4, 7, generator=gen(10))
    assert torch.equal(gumbel_softmax(logits, 0.5, generator=gen(11)),
                       gumbel_softmax(logits, 0.5, generator=gen(11)))
    assert not torch.equal(gumbel_softmax(logits, 0.5, generator=gen(11)),
                           gumbel_softmax(logits, 0.5, generator=gen(12)))


def test_temperature_to_zero_approaches_the_one_hot():
    logits = torch.randn(1000, 6, generator=gen(13))
    cold = gumbel_softmax(logits, 0.01, generator=gen(14))
    hard = gumbel_softmax(logits, 0.01, hard=True, generator=gen(14))
    assert (cold.max(-1).values > 0.99).float().mean() > 0.95
    assert torch.equal(cold.argmax(-1), hard.argmax(-1))

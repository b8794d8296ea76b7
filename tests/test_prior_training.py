"""lessonlib.priors.training: the learning-rate schedule, class dropout, and a tiny prior
that learns a deterministic pattern (its held-out bits fall towards 0)."""

from __future__ import annotations

import math

import pytest
import torch

from lessonlib.priors.autoregressive import ar_logits, ar_loss, sample_autoregressive
from lessonlib.priors.maskgit import maskgit_decode, maskgit_loss
from lessonlib.priors.scoring import bits_per_token
from lessonlib.priors.training import drop_classes, train_prior, warmup_cosine
from lessonlib.priors.transformer import TokenTransformer


def test_warmup_then_cosine():
    assert warmup_cosine(0, 100, 10) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine(10, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine(55, 100, 10) == pytest.approx(0.05 + 0.95 * 0.5)
    assert warmup_cosine(100, 100, 10) == pytest.approx(0.05)


def test_class_dropout_rate():
    labels = torch.zeros(100_000, dtype=torch.long)
    dropped = drop_classes(labels, 0.2, 10, torch.Generator().manual_seed(0))
    assert float((dropped == 10).double().mean()) == pytest.approx(0.2, abs=0.01)
    assert torch.equal(drop_classes(labels, 0.0, 10), labels)


def pattern_data(n=256, positions=6, codes=5):
    """Class c's grid is (c + i) mod codes at position i: fully predictable from the class."""
    labels = torch.arange(n) % 3
    tokens = (labels.unsqueeze(1) + torch.arange(positions)) % codes  # [n, positions]
    return tokens, labels


@pytest.mark.parametrize("causal", [True, False])
def test_a_tiny_prior_learns_a_deterministic_pattern(causal):
    tokens, labels = pattern_data()
    torch.manual_seed(0)
    model = TokenTransformer(5, 6, 3, d_model=32, n_layers=1, n_heads=2, dropout=0.0,
                             causal=causal)
    history = train_prior(model, tokens, labels, ar_loss if causal else maskgit_loss,
                          steps=150, batch_size=32, lr=3e-3, warmup=10, class_dropout=0.0,
                          progress=False)
    assert history["loss"][-1] < 0.2 * history["loss"][0]
    model.eval()
    if causal:
        with torch.no_grad():
            assert bits_per_token(ar_logits(model, tokens, labels), tokens) < 0.2
        drawn = sample_autoregressive(model, torch.tensor([0, 1, 2]), temperature=0.5)
    else:
        drawn = maskgit_decode(model, torch.tensor([0, 1, 2]), total_steps=3,
                               temperature=0.5, choice_temperature=0.0)
    want = (torch.arange(3).unsqueeze(1) + torch.arange(6)) % 5
    assert (drawn == want).float().mean() > 0.9
    assert math.isfinite(history.seconds)

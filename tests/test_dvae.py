"""lessonlib.priors.dvae: the KL to the uniform prior, the temperature schedule, and the
Gumbel quantizer's training and evaluation paths."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Categorical, kl_divergence

from lessonlib.priors.dvae import GumbelQuantizer, anneal_temperature, kl_to_uniform
from lessonlib.tokenizers import QuantizedAutoencoder


def test_kl_to_uniform_matches_torch_distributions():
    logits = torch.randn(2, 7, 3, 3, generator=torch.Generator().manual_seed(0))
    got = kl_to_uniform(logits)  # [2, 3, 3]
    q = Categorical(logits=logits.movedim(1, -1))
    u = Categorical(logits=torch.zeros(2, 3, 3, 7))
    assert torch.allclose(got, kl_divergence(q, u), atol=1e-5)
    assert torch.allclose(kl_to_uniform(torch.zeros(1, 5, 2, 2)), torch.zeros(1, 2, 2),
                          atol=1e-6)


def test_temperature_anneals_exponentially_from_1_to_a_sixteenth():
    assert anneal_temperature(0, 100) == pytest.approx(1.0)
    assert anneal_temperature(50, 100) == pytest.approx(0.25)
    assert anneal_temperature(100, 100) == pytest.approx(1 / 16)
    assert anneal_temperature(500, 100) == pytest.approx(1 / 16)


def test_quantizer_training_and_evaluation_paths():
    torch.manual_seed(0)
    q = GumbelQuantizer(num_codes=6, embedding_dim=4, tau=0.5, kl_weight=0.1)
    z_e = torch.randn(2, 4, 3, 3, requires_grad=True)
    z_q, idx, aux, perp = q(z_e)
    assert z_q.shape == (2, 4, 3, 3) and idx.shape == (2, 3, 3)
    assert 1.0 <= float(perp) <= 6.0
    want_aux = 0.1 * kl_to_uniform(q.to_logits(z_e)).mean()
    assert torch.allclose(aux, want_aux)
    (z_q.sum() + aux).backward()
    assert z_e.grad.abs().sum() > 0 and q.codebook.weight.grad.abs().sum() > 0
    q.eval()
    with torch.no_grad():
        z_q_eval, idx_eval, _, _ = q(z_e)
    assert torch.equal(idx_eval, q.to_logits(z_e).argmax(1))
    assert torch.allclose(z_q_eval, q.decode_indices(idx_eval))


def test_plugs_into_the_quantized_autoencoder():
    torch.manual_seed(0)
    model = QuantizedAutoencoder(GumbelQuantizer(8, 4), 4, width=8)
    logits, z_e, z_q, idx, aux, perp = model(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 1, 28, 28) and idx.shape == (3, 7, 7)
    assert math.isfinite(float(aux.detach()))

"""lessonlib.tokenizers.realism: chance for one distribution, near 1 for two obviously
different ones, reproducible, and the global random state left alone."""

from __future__ import annotations

import pytest
import torch

from lessonlib.tokenizers.realism import real_vs_fake_accuracy


def blobs(n, seed, sharp=True):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 16, 16, generator=g)
    return (x > 0.5).float() if sharp else torch.full_like(x, 0.5) + 0.05 * x


def test_same_distribution_is_near_chance():
    acc = real_vs_fake_accuracy(blobs(400, 0), blobs(400, 1), steps=60, seed=0)
    assert 0.4 < acc < 0.6


def test_different_distributions_are_told_apart():
    acc = real_vs_fake_accuracy(blobs(200, 0), blobs(200, 1, sharp=False), steps=60, seed=0)
    assert acc > 0.95


def test_reproducible_and_keeps_the_global_rng():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = real_vs_fake_accuracy(blobs(100, 0), blobs(100, 2, sharp=False), steps=20, seed=5)
    after = torch.rand(3)
    assert torch.equal(before, after)
    assert a == real_vs_fake_accuracy(blobs(100, 0), blobs(100, 2, sharp=False), steps=20, seed=5)
    assert a == real_vs_fake_accuracy(blobs(100, 0), blobs(100, 2, sharp=False), steps=20, seed=5,
                                      device="cpu")  # the split does not depend on the device
    with pytest.raises(ValueError):
        real_vs_fake_accuracy(torch.zeros(10, 1, 8, 8), torch.zeros(10, 1, 9, 8))

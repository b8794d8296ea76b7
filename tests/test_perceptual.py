"""lessonlib.tokenizers.perceptual: the LPIPS formula against a loop over positions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.tokenizers.feature_net import FeatureNet
from lessonlib.tokenizers.perceptual import FeatureDistance, feature_distance, unit_normalize


def loop_distance(feats_x, feats_y, weights=None, eps=1e-10):
    """Position by position in numpy float64."""
    batch = feats_x[0].shape[0]
    out = np.zeros(batch)
    for layer, (fx, fy) in enumerate(zip(feats_x, feats_y)):
        fx, fy = fx.double().numpy(), fy.double().numpy()
        _, c, h, w = fx.shape
        wl = np.ones(c) if weights is None else weights[layer].double().numpy()
        for b in range(batch):
            acc = 0.0
            for i in range(h):
                for j in range(w):
                    a = fx[b, :, i, j] / (np.linalg.norm(fx[b, :, i, j]) + eps)
                    z = fy[b, :, i, j] / (np.linalg.norm(fy[b, :, i, j]) + eps)
                    acc += float((wl * (a - z) ** 2).sum())
            out[b] += acc / (h * w)
    return out


def random_feats(seed, batch, shapes):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, *s, generator=g) for s in shapes]


@pytest.mark.parametrize("seed, batch, shapes", [
    (0, 2, [(3, 4, 4)]), (1, 3, [(4, 5, 5), (6, 2, 3), (2, 1, 1)]), (2, 1, [(8, 3, 3)]),
])
@pytest.mark.parametrize("weighted", [False, True])
def test_feature_distance_against_a_loop(seed, batch, shapes, weighted):
    fx, fy = random_feats(seed, batch, shapes), random_feats(seed + 10, batch, shapes)
    weights = [torch.rand(s[0], generator=torch.Generator().manual_seed(i)) * 2
               for i, s in enumerate(shapes)] if weighted else None
    got = feature_distance(fx, fy, weights)
    assert got.shape == (batch,)
    assert np.allclose(got.double().numpy(), loop_distance(fx, fy, weights), rtol=1e-5)


def test_feature_distance_properties():
    fx = random_feats(3, 2, [(4, 3, 3), (5, 2, 2)])
    assert torch.allclose(feature_distance(fx, fx), torch.zeros(2))
    scaled = [f * torch.rand(2, 1, f.shape[2], f.shape[3]) * 5 + 0 * f for f in fx]
    positive = [f.abs() + 0.1 for f in fx]
    rescaled = [p * (torch.rand(2, 1, p.shape[2], p.shape[3]) + 0.5) for p in positive]
    assert torch.allclose(feature_distance(positive, rescaled), torch.zeros(2), atol=1e-6), (
        "a positive scale per position does not change the unit-normalised features")
    # opposite unit vectors are at squared distance 4 per position
    ones = [torch.ones(1, 3, 2, 2)]
    assert float(feature_distance(ones, [-o for o in ones])[0]) == pytest.approx(4.0)
    zero = [torch.zeros(1, 3, 2, 2)]
    assert torch.isfinite(feature_distance(zero, ones)).all()
    assert float(feature_distance(zero, ones)[0]) == pytest.approx(1.0)
    assert scaled[0].shape == fx[0].shape
    with pytest.raises(ValueError):
        feature_distance(fx, fx[:1])


def test_unit_normalize():
    f = torch.randn(2, 5, 3, 3)
    n = unit_normalize(f)
    assert torch.allclose(n.norm(dim=1), torch.ones(2, 3, 3), atol=1e-6)


def test_feature_distance_module_is_frozen_but_passes_gradients():
    torch.manual_seed(0)
    net = FeatureNet(in_channels=3, widths=(4, 6, 8))
    loss_fn = FeatureDistance(net)
    assert all(not p.requires_grad for p in net.parameters())
    loss_fn.train()
    assert not net.training, "the feature network stays in eval mode"
    x = torch.rand(2, 3, 16, 16)
    y = torch.rand(2, 3, 16, 16, requires_grad=True)
    d = loss_fn(x, y)
    assert d.shape == (2,)
    assert torch.allclose(d, feature_distance(net.features(x), net.features(y)))
    d.sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())

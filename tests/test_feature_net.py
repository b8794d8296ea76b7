"""lessonlib.tokenizers.feature_net: shapes for any image size and channel count; it
learns; accuracy and embeddings in eval mode."""

from __future__ import annotations

import pytest
import torch

from lessonlib.tokenizers.feature_net import FeatureNet, accuracy, embed_all, train_feature_net


@pytest.mark.parametrize("channels, size", [(1, 28), (3, 32), (3, 64), (1, 16)])
def test_shapes(channels, size):
    net = FeatureNet(in_channels=channels, num_classes=7, widths=(4, 6, 8), embed_dim=12)
    x = torch.rand(2, channels, size, size)
    feats = net.features(x)
    assert [tuple(f.shape) for f in feats] == [
        (2, 4, size, size), (2, 6, size // 2, size // 2), (2, 8, size // 4, size // 4)]
    assert net.embed(x).shape == (2, 12)
    assert net(x).shape == (2, 7)


def stripes(n, seed):
    """Two classes: horizontal or vertical stripes, with noise. [n, 1, 12, 12], [n]."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    base = (torch.arange(12) % 4 < 2).float()
    horizontal = base.view(12, 1).expand(12, 12)
    images = torch.where(labels.view(n, 1, 1) == 0, horizontal, horizontal.t())
    images = images.unsqueeze(1) + 0.3 * torch.randn(n, 1, 12, 12, generator=g)
    return images, labels


def test_training_learns_and_is_reproducible():
    x, y = stripes(256, 0)
    x_test, y_test = stripes(128, 1)
    nets = []
    for _ in range(2):
        torch.manual_seed(0)
        net = FeatureNet(num_classes=2, widths=(4, 6, 8), embed_dim=8)
        history = train_feature_net(net, x, y, steps=60, batch_size=32, lr=5e-3, seed=2)
        nets.append((net, history))
    (net, history), (_, again) = nets
    assert history["loss"] == again["loss"]
    assert accuracy(net, x_test, y_test) > 0.95
    assert set(history) == {"loss", "accuracy"}


def test_accuracy_and_embeddings_use_eval_mode():
    net = FeatureNet(widths=(4, 6, 8), embed_dim=5)
    x = torch.rand(30, 1, 12, 12)
    net.train()
    emb = embed_all(net, x, chunk=7)
    assert emb.shape == (30, 5) and net.training
    net.eval()
    assert torch.allclose(emb, net.embed(x), atol=1e-6)
    labels = net(x).argmax(1)
    assert accuracy(net, x, labels, chunk=4) == 1.0

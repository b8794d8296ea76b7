"""Perceptual quality as Blau and Michaeli measure it: can a classifier tell real from fake?

Blau and Michaeli (CVPR 2018) call a reconstruction method perceptually perfect when the
distribution of its outputs equals the distribution of real images, and measure how far it
is from that by a divergence between the two. The best accuracy any classifier reaches at
telling a real image from an output (equal numbers of each) is 1/2 + TV/2, with TV the total
variation distance between the two distributions: 0.5 means they cannot be told apart at
all, 1.0 means every output is recognisable.

`real_vs_fake_accuracy` estimates that accuracy with a small convolutional classifier
(lessonlib.tokenizers.feature_net.FeatureNet with two classes): it trains on half of the
real images and half of the outputs, and reports the accuracy on the other halves. A
trained classifier finds a lower bound of the best accuracy; with the same classifier,
steps and seeds for every method, the numbers compare the methods.

    acc = real_vs_fake_accuracy(x_real, x_hat, steps=300, seed=0)   # 0.5 .. 1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lessonlib.tokenizers.feature_net import FeatureNet, accuracy, train_feature_net


def real_vs_fake_accuracy(real: torch.Tensor, fake: torch.Tensor, *, steps: int = 300,
                          batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
                          widths: Sequence[int] = (8, 16, 32),
                          device: torch.device | str | None = None) -> float:
    """Held-out accuracy of a FeatureNet trained to tell real from fake images.

    real [N, C, H, W], fake [M, C, H, W] (same C, H, W): min(N, M) of each are used, split
    in half at random (seeded); the classifier trains on one half of both and is scored on
    the other (balanced classes). The seed fixes the split, the initial weights and the
    batch order, without touching the global random state. device: where the classifier
    trains and is scored (the split is drawn on the CPU, so the result does not depend on it).
    """
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"image shapes differ: {tuple(real.shape[1:])} vs {tuple(fake.shape[1:])}")
    n = min(len(real), len(fake))
    if n < 4:
        raise ValueError("need at least 4 images of each kind")
    gen = torch.Generator().manual_seed(seed)
    real = real[torch.randperm(len(real), generator=gen)[:n]].detach().float()
    fake = fake[torch.randperm(len(fake), generator=gen)[:n]].detach().float()
    half = n // 2
    x_train = torch.cat([real[:half], fake[:half]])  # [2h, C, H, W]
    y_train = torch.cat([torch.ones(half), torch.zeros(half)]).long()  # 1 = real
    x_test = torch.cat([real[half:], fake[half:]])
    y_test = torch.cat([torch.ones(n - half), torch.zeros(n - half)]).long()
    where = real.device if device is None else torch.device(device)
    x_train, y_train = x_train.to(where), y_train.to(where)
    x_test, y_test = x_test.to(where), y_test.to(where)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = FeatureNet(in_channels=real.shape[1], num_classes=2, widths=tuple(widths))
        net.to(where)
        train_feature_net(net, x_train, y_train, steps=steps,
                          batch_size=min(batch_size, len(x_train)), lr=lr, seed=seed)
    return accuracy(net, x_test, y_test)

"""A small convolutional classifier whose layers serve as features.

Perceptual losses and Frechet distances need a network that has learned what matters in
the images. Real systems use ImageNet-trained VGG / AlexNet / Inception weights; offline,
the course trains this small classifier in seconds on the images it studies and reads its
layers instead:

    features(x)  list of 3 maps after each conv block, e.g. for [B, 1, 28, 28]:
                 [B, w1, 28, 28], [B, w2, 14, 14], [B, w3, 7, 7]
    embed(x)     [B, embed_dim]: the penultimate layer (for Frechet distances), from the
                 last map pooled to 4x4, flattened, a linear layer and a ReLU
    forward(x)   [B, num_classes] logits

    net = FeatureNet(in_channels=1, num_classes=10)
    train_feature_net(net, x_train, y_train, steps=300, batch_size=64)
    accuracy(net, x_test, y_test)

On a GPU pass `device=` to train_feature_net (the net and the data move there once);
accuracy and embed_all run on the net's device and return CPU results.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.core.batching import minibatches
from lessonlib.core.device import model_device
from lessonlib.core.training import History, eval_mode, train


class FeatureNet(nn.Module):
    """Three 3x3 conv blocks (the 2nd and 3rd with stride 2), pooling to 4x4, a hidden
    layer (the embedding) and a linear head.

    Any image size (at least 4x4 after the two strides) and channel count: in_channels C,
    widths (w1, w2, w3), embed_dim.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10,
                 widths: Sequence[int] = (8, 16, 32), embed_dim: int = 64):
        super().__init__()
        w1, w2, w3 = widths
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Conv2d(in_channels, w1, 3, 1, 1), nn.ReLU()),  # [B, w1, H, W]
            nn.Sequential(nn.Conv2d(w1, w2, 3, 2, 1), nn.ReLU()),  # [B, w2, H/2, W/2]
            nn.Sequential(nn.Conv2d(w2, w3, 3, 2, 1), nn.ReLU()),  # [B, w3, H/4, W/4]
        ])
        self.pool = nn.AdaptiveAvgPool2d(4)  # [B, w3, 4, 4] whatever the image size
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(w3 * 16, embed_dim), nn.ReLU())
        self.head = nn.Linear(embed_dim, num_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The output of every block: list of [B, C_l, H_l, W_l]."""
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, H, W] -> [B, embed_dim]: the penultimate layer."""
        return self.hidden(self.pool(self.features(x)[-1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))  # [B, num_classes]


def train_feature_net(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, *,
                      steps: int, batch_size: int = 64, lr: float = 2e-3, seed: int = 0,
                      progress: bool = False,
                      device: torch.device | str | None = None) -> History:
    """Train `net` as a classifier (cross-entropy, Adam) on images [N, C, H, W], labels [N].

    The batch order depends only on `seed`. device: where to train (default: where the
    net is; the net and the data are moved there once). Returns the History (loss,
    accuracy per step).
    """
    device = torch.device(device) if device is not None else model_device(net)
    net.to(device)
    batches = minibatches(images.to(device), labels.to(device), batch_size=batch_size,
                          generator=torch.Generator().manual_seed(seed))

    def step(batch):
        x, y = batch
        logits = net(x)  # [B, K]
        return {"loss": F.cross_entropy(logits, y),
                "accuracy": (logits.argmax(1) == y).float().mean()}

    return train(net.parameters(), step, batches, steps=steps, lr=lr, desc="feature net",
                 progress=progress)


@torch.no_grad()
def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor,
             chunk: int = 1000) -> float:
    """Fraction of images [N, C, H, W] whose argmax logit equals the label [N] (eval mode,
    on the net's device)."""
    device = model_device(net)
    with eval_mode(net):
        predictions = torch.cat([net(part.to(device)).argmax(1).cpu()
                                 for part in images.split(chunk)])  # [N]
    return float((predictions == labels.cpu()).float().mean())


@torch.no_grad()
def embed_all(net: nn.Module, images: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """net.embed of images [N, C, H, W] in chunks, eval mode, on the net's device: [N, D]
    on the CPU."""
    device = model_device(net)
    with eval_mode(net):
        return torch.cat([net.embed(part.to(device)).cpu() for part in images.split(chunk)])

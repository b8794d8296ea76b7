"""A perceptual (feature-matching) distance: the LPIPS formula on any network's features.

LPIPS (Zhang, Isola, Efros, Shechtman and Wang, CVPR 2018) compares two images through the
activations of a frozen network at several layers l. At every position (h, w) the feature
vector over the C_l channels is scaled to unit length; the squared differences are weighted
per channel, summed over channels, averaged over positions, and summed over layers:

    d(x, y) = sum_l  mean_{h,w}  sum_c  w_l[c] * (f_l(x)[c,h,w] / |f_l(x)[:,h,w]| -
                                                  f_l(y)[c,h,w] / |f_l(y)[:,h,w]|)^2

Real LPIPS uses ImageNet-trained VGG or AlexNet layers with weights w_l fitted to human
similarity judgements. The course cannot download those, so it plugs in a small digit
classifier (lessonlib.tokenizers.feature_net): the same formula, a different network. What
it measures is closeness in *that network's* features, so it is called a feature distance
here, never LPIPS.

    feats = net.features(x)                        # list of [B, C_l, H_l, W_l]
    d = feature_distance(net.features(x), net.features(y))   # [B]
    loss_fn = FeatureDistance(net)                 # frozen; loss_fn(x, y) -> [B]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def unit_normalize(f: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Scale each spatial feature vector to unit length: f [B, C, H, W] / (norm over C + eps).

    The norm is sqrt(sum of squares + 1e-20): the same value in float32, a finite gradient
    (0) at an all-zero vector, and several times faster on CPUs than f.norm(dim=1).
    """
    norm = ((f * f).sum(dim=1, keepdim=True) + 1e-20).sqrt()  # [B, 1, H, W]
    return f / (norm + eps)


def feature_distance(feats_x: Sequence[torch.Tensor], feats_y: Sequence[torch.Tensor],
                     weights: Sequence[torch.Tensor] | None = None,
                     eps: float = 1e-10) -> torch.Tensor:
    """The LPIPS formula on given features: [B] distances, differentiable.

    feats_x, feats_y: lists of feature maps [B, C_l, H_l, W_l], layer by layer;
    weights: optional list of per-channel weights [C_l] (default: ones).
    """
    if len(feats_x) != len(feats_y):
        raise ValueError(f"{len(feats_x)} layers of features against {len(feats_y)}")
    total = 0.0
    for i, (fx, fy) in enumerate(zip(feats_x, feats_y)):
        diff = (unit_normalize(fx, eps) - unit_normalize(fy, eps)).pow(2)  # [B, C, H, W]
        if weights is not None:
            diff = diff * weights[i].view(1, -1, 1, 1)
        total = total + diff.sum(dim=1).mean(dim=(1, 2))  # [B]
    return total


class FeatureDistance(nn.Module):
    """feature_distance through a frozen network: forward(x, y) -> [B].

    net: any module with `features(x) -> list of [B, C_l, H_l, W_l]`. Its parameters are
    frozen and it stays in eval mode, but gradients still flow to the images.
    """

    def __init__(self, net: nn.Module, weights: Sequence[torch.Tensor] | None = None,
                 distance=feature_distance):
        super().__init__()
        self.net = net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.weights = weights
        self.distance = distance

    def train(self, mode: bool = True):
        super().train(mode)
        self.net.eval()  # the feature network is never trained here
        return self

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and x.requires_grad):
            feats_x = self.net.features(x)  # no graph for a target that needs no gradient
        return self.distance(feats_x, self.net.features(y), self.weights)

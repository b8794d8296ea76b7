"""How good are a tokenizer's reconstructions? Four numbers beside each other.

    psnr         pixel fidelity (lessonlib.core.image_metrics.psnr), dB, higher is better
    frechet      Frechet distance between Gaussians fitted to a judge network's embeddings
                 of the reconstructions and of the real images (lessonlib.priors.frechet),
                 lower is better: do reconstructions, as a set, look like real images?
    accuracy     the judge classifier's accuracy on the reconstructions: is the content kept?
    sharpness    mean gradient magnitude of the images (gradient_sharpness); compare with
                 the real images' value: blur lowers it
    ink          total intensity of the reconstructions over that of the originals
                 (ink_ratio): 1 keeps the brightness, below 1 is dimmer or thinner

The judge should not be the network a perceptual loss was trained against, or the loss
would be graded by its own teacher.
"""

from __future__ import annotations

import torch
from torch import nn

from lessonlib.core.image_metrics import psnr
from lessonlib.priors.frechet import frechet_distance_of
from lessonlib.tokenizers.feature_net import accuracy, embed_all


def gradient_sharpness(images: torch.Tensor) -> float:
    """Mean over images and pixels of sqrt(dx^2 + dy^2), forward differences.

    images: [N, C, H, W]; the differences are taken on the [H-1, W-1] grid where both exist.
    """
    x = images.detach().double()
    dx = x[:, :, :-1, 1:] - x[:, :, :-1, :-1]  # [N, C, H-1, W-1]
    dy = x[:, :, 1:, :-1] - x[:, :, :-1, :-1]  # [N, C, H-1, W-1]
    return float((dx.pow(2) + dy.pow(2)).sqrt().mean())


def ink_ratio(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """sum(x_hat) / sum(x) over the whole batch [N, C, H, W] (images in [0, 1])."""
    return float(x_hat.detach().double().sum() / x.detach().double().sum())


def reconstruction_quality(x: torch.Tensor, x_hat: torch.Tensor, labels: torch.Tensor,
                           judge: nn.Module) -> dict[str, float]:
    """psnr, frechet, accuracy, sharpness and ink of reconstructions x_hat [N, C, H, W] of x.

    judge: a classifier with `embed` (e.g. lessonlib.tokenizers.feature_net.FeatureNet);
    labels [N]: the true classes of x.
    """
    return {"psnr": psnr(x, x_hat),
            "frechet": frechet_distance_of(embed_all(judge, x_hat), embed_all(judge, x)),
            "accuracy": accuracy(judge, x_hat, labels),
            "sharpness": gradient_sharpness(x_hat), "ink": ink_ratio(x, x_hat)}

"""Image quality metrics: PSNR (peak signal-to-noise ratio) in decibels.

PSNR = 10 log10(max_value^2 / MSE). It is computed per image and then averaged over the
batch, the usual convention in tokenizer papers. (The PSNR of the batch-mean MSE is a
different number, never larger, by Jensen's inequality.)
"""

from __future__ import annotations

import torch

MIN_MSE = 1e-10  # identical images would give infinite PSNR; cap at 100 dB for max_value 1


def psnr(x: torch.Tensor, x_hat: torch.Tensor, max_value: float = 1.0) -> float:
    """Mean over the batch of per-image PSNR in dB.

    x, x_hat: [B, ...] images with values in [0, max_value] (same shape). Each image's MSE
    is averaged over all its pixels and channels; an exact copy counts as
    10 log10(max_value^2 / 1e-10) dB instead of infinity.
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(x_hat.shape)}")
    x = x.detach().double().reshape(x.shape[0], -1)  # [B, P]
    x_hat = x_hat.detach().double().reshape(x_hat.shape[0], -1)  # [B, P]
    mse = (x - x_hat).pow(2).mean(dim=1).clamp_min(MIN_MSE)  # [B]
    per_image = 10 * torch.log10(max_value**2 / mse)  # [B]
    return float(per_image.mean())

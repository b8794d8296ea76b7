"""Reconstruction errors, and how far an image is from its nearest real example.

The per-example losses sum over pixels (one number per image) so that they add up like the
log-likelihoods of the VAE chapters; averages over a batch are left to the caller.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def bce_per_example(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of x [B, ...] in [0, 1] under Bernoulli logits, summed: -> [B]."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def squared_error_per_example(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """||x - x_hat||^2 per example, summed over pixels: [B, ...] -> [B]."""
    return (x - x_hat).pow(2).flatten(1).sum(1)


@torch.no_grad()
def reconstruction_errors(encode: Callable, decode: Callable, x: torch.Tensor,
                          batch_size: int = 500) -> dict[str, float]:
    """Mean BCE per image (nats) and mean squared error per pixel of decode(encode(x)).

    encode: x [B, 1, H, W] -> code; decode: code -> logits [B, 1, H, W].
    """
    bce, sq = [], []
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]  # [B, 1, H, W]
        logits = decode(encode(xb))  # [B, 1, H, W]
        bce.append(bce_per_example(logits, xb))
        sq.append(squared_error_per_example(torch.sigmoid(logits), xb))
    pixels = x[0].numel()
    return {"bce": float(torch.cat(bce).mean()), "mse": float(torch.cat(sq).mean() / pixels)}


@torch.no_grad()
def nearest_distance(x: torch.Tensor, reference: torch.Tensor,
                     chunk: int = 1000) -> torch.Tensor:
    """Root-mean-square pixel distance from each image to its nearest reference image.

    x: [M, ...], reference: [N, ...] (same image shape) -> [M]. A decoded sample far from
    every real image is not a digit the data contains.
    """
    ref = reference.flatten(1).double()  # [N, P]
    pixels = ref.shape[1]
    out = []
    for start in range(0, len(x), chunk):
        xb = x[start:start + chunk].flatten(1).double()  # [m, P]
        out.append(torch.cdist(xb, ref).min(1).values / pixels ** 0.5)  # [m]
    return torch.cat(out).to(x.dtype)

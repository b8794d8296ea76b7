"""Reconstruction errors (the one home of the per-example negative log-likelihood), and how
far an image is from its nearest real example.

The per-example losses sum over pixels (one number per image) so that they add up like the
log-likelihoods of the VAE chapters; averages over a batch are left to the caller.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

LIKELIHOODS = ("bernoulli", "gaussian")


def reconstruction_nll(x: torch.Tensor, logits: torch.Tensor,
                       likelihood: str = "bernoulli") -> torch.Tensor:
    """-log p(x | z) per example (up to a constant for the Gaussian): [B, ...] -> [B].

    bernoulli: `logits` are pre-sigmoid logits; binary cross-entropy computed from logits
               (stable for any logit, no sigmoid followed by log).
    gaussian:  `logits` is the mean of N(mean, I); the loss is 0.5 * squared error.
    """
    batch = x.shape[0]
    x_flat = x.reshape(batch, -1)  # [B, P]
    out = logits.reshape(batch, -1)  # [B, P]
    if likelihood == "bernoulli":
        nll = F.binary_cross_entropy_with_logits(out, x_flat, reduction="none")  # [B, P]
    elif likelihood == "gaussian":
        nll = 0.5 * (out - x_flat).pow(2)  # [B, P]
    else:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    return nll.sum(dim=1)  # [B]


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
        bce.append(reconstruction_nll(xb, logits))
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

"""Codebook health and maintenance: usage, perplexity, EMA updates, dead-code revival, and a
start on real data (codebook_from_data).

All functions are pure: they return new tensors and never modify their inputs.
"""

from __future__ import annotations

import torch

from lessonlib.core.information import code_perplexity
from lessonlib.quantizers.vq import nearest_code


def codebook_perplexity(indices: torch.Tensor, num_codes: int) -> torch.Tensor:
    """exp(entropy of the code-usage frequencies): 1 if one code is used, K if all equally."""
    return code_perplexity(indices, num_codes)


def codebook_usage(indices: torch.Tensor, num_codes: int) -> float:
    """Fraction of the K codes used at least once in `indices`."""
    return torch.unique(indices.reshape(-1)).numel() / num_codes


def ema_codebook_update(codebook: torch.Tensor, cluster_size: torch.Tensor,
                        embed_avg: torch.Tensor, z_flat: torch.Tensor, indices: torch.Tensor,
                        decay: float = 0.99, eps: float = 1e-5):
    """One EMA (k-means style) codebook step with Laplace smoothing, vectorized.

    codebook [K, D], cluster_size [K], embed_avg [K, D], z_flat [N, D], indices [N]
    -> (codebook [K, D], cluster_size [K], embed_avg [K, D]).

    Counts and sums use bincount / index_add_ (O(N D) work), not a one-hot matrix
    (O(N K D), mostly multiplications by zero: slow for K in the thousands).
    """
    k = codebook.shape[0]
    counts = torch.bincount(indices, minlength=k).type_as(z_flat)  # [K]
    sums = torch.zeros_like(embed_avg).index_add_(0, indices, z_flat.type_as(embed_avg))  # [K, D]
    cluster_size = decay * cluster_size + (1 - decay) * counts  # [K]
    embed_avg = decay * embed_avg + (1 - decay) * sums  # [K, D]
    n = cluster_size.sum()
    smoothed = (cluster_size + eps) / (n + k * eps) * n  # [K], never 0
    return embed_avg / smoothed.unsqueeze(1), cluster_size, embed_avg


def revive_dead_codes(codebook: torch.Tensor, cluster_size: torch.Tensor,
                      embed_avg: torch.Tensor, z_flat: torch.Tensor, threshold: float = 1.0,
                      generator: torch.Generator | None = None):
    """Move every code whose cluster_size < threshold onto a random encoder output.

    Returns (codebook, cluster_size, embed_avg, n_revived). A revived code k takes a random
    row r of z_flat [N, D]; cluster_size[k] = threshold and embed_avg[k] = r * threshold,
    so the next EMA step keeps it at r.
    """
    dead = cluster_size < threshold  # [K]
    n_dead = int(dead.sum())
    if n_dead == 0:
        return codebook.clone(), cluster_size.clone(), embed_avg.clone(), 0
    rows = torch.randint(0, z_flat.shape[0], (n_dead,), generator=generator,
                         device=z_flat.device if generator is None else "cpu")
    fresh = z_flat[rows.to(z_flat.device)].to(codebook.dtype)  # [n_dead, D]
    codebook, cluster_size, embed_avg = codebook.clone(), cluster_size.clone(), embed_avg.clone()
    codebook[dead] = fresh
    cluster_size[dead] = threshold
    embed_avg[dead] = fresh * threshold
    return codebook, cluster_size, embed_avg, n_dead


def codebook_from_data(z_flat: torch.Tensor, num_codes: int, *, kmeans_steps: int = 0,
                       count: float = 1.0, generator: torch.Generator | None = None):
    """A codebook started on real encoder outputs, with EMA statistics that agree with it.

    z_flat [N, D] with N >= num_codes -> (codebook [K, D], cluster_size [K], embed_avg [K, D]).
    The codes are K distinct random rows of z_flat, then `kmeans_steps` Lloyd steps on
    z_flat (a code whose cluster is empty stays where it is). Every count starts at `count`
    and every running sum at code * count, so embed_avg / cluster_size is the codebook from
    the first EMA step on: an unused code then decays in place instead of being divided by
    about eps (what counts that start at zero do to it).
    """
    n = z_flat.shape[0]
    if n < num_codes:
        raise ValueError(f"need at least {num_codes} vectors to start {num_codes} codes, got {n}")
    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    rows = torch.randperm(n, generator=generator)[:num_codes]
    codebook = z_flat[rows].clone()  # [K, D]
    for _ in range(kmeans_steps):
        assign = nearest_code(z_flat, codebook)  # [N]
        sizes = torch.bincount(assign, minlength=num_codes).unsqueeze(1)  # [K, 1]
        sums = torch.zeros_like(codebook).index_add_(0, assign, z_flat)  # [K, D]
        codebook = torch.where(sizes > 0, sums / sizes.clamp_min(1), codebook)  # [K, D]
    cluster_size = torch.full((num_codes,), float(count), dtype=z_flat.dtype)  # [K]
    return codebook, cluster_size, codebook * count

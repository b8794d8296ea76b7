"""Entropy and perplexity: the one place where 0 log 0 is decided (it is 0).

Every entropy in the course (code usage, LFQ's entropy terms, the MIG's factor entropies,
the views' perplexity read-outs) is computed here, in nats:

    H(p) = -sum_k p_k log p_k          (torch.xlogy(p, p) is exactly 0 where p = 0)
    perplexity = exp(H)                (1 if one code is used, K if all K equally)
"""

from __future__ import annotations

import torch


def entropy(p: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Shannon entropy in nats of probabilities `p` along `dim`: [..., K] -> [...]."""
    return -torch.xlogy(p, p).sum(dim=dim)


def entropy_of_counts(counts: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of the frequencies counts / counts.sum(): [K] -> scalar tensor."""
    counts = torch.as_tensor(counts, dtype=torch.float64)  # [K]
    return entropy(counts / counts.sum())


def perplexity_of_counts(counts) -> float:
    """exp(entropy) of the usage frequencies given per-code counts [K] (tensor or array)."""
    return float(entropy_of_counts(torch.as_tensor(counts)).exp())


def code_perplexity(indices: torch.Tensor, num_codes: int) -> torch.Tensor:
    """exp(entropy) of the empirical code distribution of `indices` (any shape): scalar.

    Returned as a float32 tensor on the device of `indices` (a training loop can log it
    without a host round trip).
    """
    counts = torch.bincount(indices.reshape(-1), minlength=num_codes).float()  # [K]
    return entropy(counts / counts.sum()).exp()


def discrete_entropy(values: torch.Tensor) -> float:
    """Entropy (nats) of the empirical distribution of any discrete values [N]."""
    _, codes = torch.unique(values, return_inverse=True)  # [N] in 0..n-1
    return float(entropy_of_counts(torch.bincount(codes.reshape(-1))))

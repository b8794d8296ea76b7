"""Scoring a prior over tokens: held-out bits per token, and the two count baselines.

bits per token = mean cross-entropy of the true tokens under the model, in bits
(nats / ln 2). A prior that knew nothing would pay log2 K bits; the marginal code
distribution (one distribution for every position) and the per-position unigram (one
distribution per grid position) are the baselines any sequence model must beat.
Counts use add-alpha (Laplace) smoothing so that a code never seen in training costs a
finite number of bits.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def bits_per_token(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean cross-entropy in bits: logits [B, N, K], targets [B, N] (int) -> float."""
    k = logits.shape[-1]
    nats = F.cross_entropy(logits.reshape(-1, k).double(), targets.reshape(-1))
    return float(nats) / math.log(2.0)


def marginal_log_probs(tokens: torch.Tensor, num_codes: int, alpha: float = 1.0
                       ) -> torch.Tensor:
    """log p(code) [K] of the code counts of `tokens` (any shape), add-alpha smoothed."""
    counts = torch.bincount(tokens.reshape(-1), minlength=num_codes).double() + alpha  # [K]
    return (counts / counts.sum()).log()


def position_log_probs(tokens: torch.Tensor, num_codes: int, alpha: float = 1.0
                       ) -> torch.Tensor:
    """log p(code | position) [N, K] from tokens [M, N] (or [M, h, w]), add-alpha smoothed."""
    flat = tokens.reshape(tokens.shape[0], -1)  # [M, N]
    n = flat.shape[1]
    counts = torch.full((n, num_codes), float(alpha), dtype=torch.float64)  # [N, K]
    counts.scatter_add_(1, flat.t(), torch.ones(n, flat.shape[0], dtype=torch.float64))
    return (counts / counts.sum(dim=1, keepdim=True)).log()


def baseline_logits(log_probs: torch.Tensor, batch: int, num_positions: int) -> torch.Tensor:
    """Broadcast baseline log-probabilities ([K] or [N, K]) to logits [batch, N, K]."""
    if log_probs.dim() == 1:
        log_probs = log_probs.expand(num_positions, -1)
    return log_probs.unsqueeze(0).expand(batch, -1, -1)


def sample_positions(log_probs: torch.Tensor, num_samples: int,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Independent samples of each position from p(code | position) [N, K]: [num_samples, N]."""
    probs = log_probs.exp().float()  # [N, K]
    draws = torch.multinomial(probs, num_samples, replacement=True, generator=generator)
    return draws.t().contiguous()  # [num_samples, N]

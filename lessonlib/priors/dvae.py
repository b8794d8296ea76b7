"""The dVAE bottleneck of DALL-E 1 (Ramesh et al. 2021, ICML), in small.

Instead of a nearest-neighbour lookup (VQ), the encoder outputs logits over K codes at
every grid position, q(k | x) = softmax(logits). Training draws a Gumbel-softmax sample
y [B, K, H, W] at temperature tau (annealed towards 0) and feeds the decoder the mixture
z_q = sum_k y_k e_k of the codebook vectors; the loss adds the KL from q to the uniform
prior over the K codes (the ELBO's KL with a uniform p(k)):

    KL(q || U) = sum_k q_k log(q_k K) = log K - H(q),  per position.

At evaluation the token is argmax_k q(k | x) and z_q = e_token: a hard code, no noise.
The module follows lessonlib's quantizer convention (QuantizerOutput), so it plugs into
QuantizedAutoencoder and train_tokenizer like VQ, FSQ or LFQ; aux_loss is kl_weight times
the mean KL per position.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.core.information import code_perplexity, entropy
from lessonlib.priors.gumbel import gumbel_softmax
from lessonlib.quantizers.common import QuantizerOutput


def kl_to_uniform(logits: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """KL(softmax(logits) || uniform over K) = log K - H(q), per position: [B, K, H, W] ->
    [B, H, W] (nats)."""
    q = F.softmax(logits, dim=dim)
    return math.log(logits.shape[dim]) - entropy(q.movedim(dim, -1))


def anneal_temperature(step: int, total: int, start: float = 1.0, end: float = 1 / 16
                       ) -> float:
    """Exponential decay of the Gumbel-softmax temperature from `start` to `end` over
    `total` steps (DALL-E 1 anneals from 1 to 1/16), then constant."""
    progress = min(1.0, step / max(1, total))
    return start * (end / start) ** progress


class GumbelQuantizer(nn.Module):
    """z_e [B, D, H, W] -> 1x1 conv -> logits [B, K, H, W] -> Gumbel-softmax over K ->
    z_q = y^T codebook [B, D, H, W]. `tau` is an attribute (anneal it during training)."""

    def __init__(self, num_codes: int, embedding_dim: int, tau: float = 1.0,
                 kl_weight: float = 0.0625, hard: bool = False,
                 sampler: Callable = gumbel_softmax, seed: int = 0):
        super().__init__()
        self.num_codes, self.embedding_dim = num_codes, embedding_dim
        self.tau, self.kl_weight, self.hard, self.sampler = tau, kl_weight, hard, sampler
        self.to_logits = nn.Conv2d(embedding_dim, num_codes, 1)
        self.codebook = nn.Embedding(num_codes, embedding_dim)
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, z_e: torch.Tensor) -> QuantizerOutput:
        logits = self.to_logits(z_e)  # [B, K, H, W]
        indices = logits.argmax(dim=1)  # [B, H, W]
        if self.training:
            y = self.sampler(logits.movedim(1, -1), self.tau, self.hard, self.generator)
            y = y.movedim(-1, 1)  # [B, K, H, W]
        else:
            y = F.one_hot(indices, self.num_codes).movedim(-1, 1).type_as(logits)
        z_q = torch.einsum("bkhw,kd->bdhw", y, self.codebook.weight)  # [B, D, H, W]
        kl = kl_to_uniform(logits).mean()
        return QuantizerOutput(z_q, indices, self.kl_weight * kl,
                               code_perplexity(indices, self.num_codes))

    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Token grid [B, H, W] -> z_q [B, D, H, W] (the hard code vectors)."""
        return self.codebook(indices).permute(0, 3, 1, 2)

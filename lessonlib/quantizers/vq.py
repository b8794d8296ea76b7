"""Vector quantization with a learned codebook (van den Oord et al., 2017).

VectorQuantizer follows the output convention of lessonlib.quantizers.common
(QuantizerOutput: z_q, indices, aux_loss, perplexity).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.core.information import code_perplexity
from lessonlib.quantizers.common import QuantizerOutput, from_rows, to_rows


def nearest_code(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest codebook row (squared Euclidean) for each row of z: [N, D] -> [N]."""
    dist = (z.pow(2).sum(1, keepdim=True)  # [N, 1]
            - 2 * z @ codebook.t()  # [N, K]
            + codebook.pow(2).sum(1))  # [K]
    return dist.argmin(dim=1)


def vq_straight_through(z_e: torch.Tensor, codebook: torch.Tensor):
    """Nearest-code quantization with a straight-through gradient.

    z_e [B, D], codebook [K, D] -> (z_q_st [B, D], indices [B]). The forward value is the
    nearest code; the backward pass copies the gradient at z_q unchanged to z_e.
    """
    indices = nearest_code(z_e, codebook)  # [B]
    z_q = codebook[indices]  # [B, D]
    return z_e + (z_q - z_e).detach(), indices


class VectorQuantizer(nn.Module):
    """Codebook nn.Embedding(K, D) trained by gradient: loss = codebook + beta * commitment.

    codebook term  ||sg[z_e] - e||^2  moves only the codebook;
    commitment     ||z_e - sg[e]||^2  moves only the encoder (weighted by commitment_cost).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, commitment_cost: float = 0.25):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.num_codes = num_embeddings  # the name every lessonlib quantizer shares
        self.commitment_cost = commitment_cost
        self.codebook = nn.Embedding(num_embeddings, embedding_dim)
        self.codebook.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)

    def forward(self, z_e: torch.Tensor):
        z = to_rows(z_e)  # [N, D]
        e = self.codebook.weight  # [K, D]
        indices = nearest_code(z.detach(), e.detach())  # [N]
        z_q = e[indices]  # [N, D]
        codebook_loss = F.mse_loss(z_q, z.detach())
        commitment_loss = F.mse_loss(z, z_q.detach())
        vq_loss = codebook_loss + self.commitment_cost * commitment_loss
        z_q_st = z + (z_q - z).detach()  # [N, D]
        b, _, h, w = z_e.shape
        return QuantizerOutput(from_rows(z_q_st, z_e.shape), indices.reshape(b, h, w), vq_loss,
                               code_perplexity(indices, self.num_codes))

"""Vector quantization with a learned codebook (van den Oord et al., 2017).

Output convention shared by every quantizer in lessonlib (VQ, EMA-VQ, FSQ, LFQ):

    z_q, indices, aux_loss, perplexity = quantizer(z_e)
    z_e      [B, D, H, W]  encoder output
    z_q      [B, D, H, W]  quantized, with a straight-through gradient to z_e
    indices  [B, H, W]     integer code per position (int64)
    aux_loss scalar        what the quantizer adds to the reconstruction loss (0 if none)
    perplexity scalar      exp(entropy of the code usage in this batch)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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


def perplexity_of(indices: torch.Tensor, num_codes: int) -> torch.Tensor:
    """exp(entropy) of the empirical code distribution of `indices` (any shape)."""
    counts = torch.bincount(indices.reshape(-1), minlength=num_codes).float()  # [K]
    p = counts / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return entropy.exp()


def to_rows(z: torch.Tensor) -> torch.Tensor:
    """[B, D, H, W] -> [B*H*W, D] (channels last, one row per position)."""
    return z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])


def from_rows(rows: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Inverse of to_rows: [B*H*W, D] -> [B, D, H, W] for the given [B, D, H, W] shape."""
    b, d, h, w = shape
    return rows.reshape(b, h, w, d).permute(0, 3, 1, 2).contiguous()


class VectorQuantizer(nn.Module):
    """Codebook nn.Embedding(K, D) trained by gradient: loss = codebook + beta * commitment.

    codebook term  ||sg[z_e] - e||^2  moves only the codebook;
    commitment     ||z_e - sg[e]||^2  moves only the encoder (weighted by commitment_cost).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, commitment_cost: float = 0.25):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
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
        return (from_rows(z_q_st, z_e.shape), indices.reshape(b, h, w), vq_loss,
                perplexity_of(indices, self.num_embeddings))

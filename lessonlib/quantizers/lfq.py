"""Lookup-free quantization, LFQ (Yu et al., MAGVIT-v2, ICLR 2024): the sign of each channel.

Each of the d channels becomes -1 or +1 (sign(0) counts as +1), with a straight-through
gradient; the implicit codebook is {-1, +1}^d, 2^d codes, found without a lookup. Token
index: bit i is 1 where z_hat_i = +1, dim 0 least significant,

    index = sum_i [z_hat_i = +1] * 2^i      (FSQ's mixed radix with every L_i = 2).

Nothing forces the encoder to use many of the 2^d codes, so MAGVIT-v2 adds an entropy
penalty over soft assignments p_i = softmax(-tau * ||z_i - c||^2 over the codes c)
= softmax(2 * tau * z_i . c) (||c||^2 = d for every code, so only the dot product matters):

    aux = mean_i H(p_i)  -  H(mean_i p_i)      (natural log, nats)
          confident codes    many codes used over the batch

LFQ follows lessonlib.quantizers.common's output convention (z_q, indices, aux_loss, perplexity).
"""

from __future__ import annotations

import torch
from torch import nn

from lessonlib.core.information import code_perplexity, entropy
from lessonlib.quantizers.common import QuantizerOutput, to_rows


def lfq_codebook(dim: int) -> torch.Tensor:
    """All 2^dim codes in index order: [2^dim, dim] in {-1, +1}; bit i of code k is dim i."""
    k = torch.arange(2 ** dim).unsqueeze(1)  # [K, 1]
    bits = (k >> torch.arange(dim)) & 1  # [K, d], dim 0 least significant
    return bits.float() * 2 - 1


def lfq_codes_to_indices(codes: torch.Tensor) -> torch.Tensor:
    """Sign codes [B, d, ...] in {-1, +1} -> indices [B, ...] (int64)."""
    d = codes.shape[1]
    place = (2 ** torch.arange(d, device=codes.device)).view((1, -1) + (1,) * (codes.dim() - 2))
    return ((codes > 0).long() * place).sum(dim=1)


def lfq_indices_to_codes(indices: torch.Tensor, dim: int) -> torch.Tensor:
    """Indices [B, ...] -> sign codes [B, dim, ...] in {-1, +1} (float32)."""
    bits = torch.stack([(indices.long() >> i) & 1 for i in range(dim)], dim=1)  # [B, d, ...]
    return bits.float() * 2 - 1


def lfq_quantize(z: torch.Tensor):
    """Sign quantization: z [B, d, ...] -> (z_hat [B, d, ...] in {-1, +1}, indices [B, ...]).

    sign(0) = +1; the backward pass copies the gradient at z_hat unchanged to z.
    """
    q = torch.where(z >= 0, 1.0, -1.0).to(z.dtype)  # [B, d, ...]
    z_hat = z + (q - z).detach()
    return z_hat, lfq_codes_to_indices(q)


def lfq_entropy_terms(z: torch.Tensor, inv_temperature: float = 100.0):
    """MAGVIT-v2's two entropies for rows z [N, d] (small d: all 2^d codes are enumerated).

    p_i = softmax(2 * inv_temperature * z_i C^T) over the codes C [2^d, d]. Returns
    (per_sample_entropy, codebook_entropy) = (mean_i H(p_i), H(mean_i p_i)), in nats.
    """
    codes = lfq_codebook(z.shape[1]).to(z)  # [K, d]
    logits = 2 * inv_temperature * z @ codes.t()  # [N, K]
    p = logits.softmax(dim=1)  # [N, K]
    return entropy(p).mean(), entropy(p.mean(dim=0))


class LFQ(nn.Module):
    """Sign quantizer for [B, d, H, W] maps; aux_loss = entropy_weight * (H_sample - H_code).

    entropy_weight = 0 switches the entropy terms off (then no [N, 2^d] matrix is built);
    entropy_rows caps the cost: the entropies use that many random positions of the batch;
    commitment_cost > 0 adds ||z - sg[z_hat]||^2, as in MAGVIT-v2.
    """

    def __init__(self, dim: int, entropy_weight: float = 0.1, inv_temperature: float = 100.0,
                 commitment_cost: float = 0.0, entropy_rows: int | None = None,
                 quantize=lfq_quantize, entropy_terms=lfq_entropy_terms, seed: int = 0):
        super().__init__()
        self.dim, self.num_codes = dim, 2 ** dim
        self.entropy_weight, self.inv_temperature = entropy_weight, inv_temperature
        self.commitment_cost, self.entropy_rows = commitment_cost, entropy_rows
        self.quantize, self.entropy_terms = quantize, entropy_terms
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, z_e: torch.Tensor):
        z_q, indices = self.quantize(z_e)  # [B, d, H, W], [B, H, W]
        aux = z_e.new_zeros(())
        if self.entropy_weight > 0 and self.training:
            rows = to_rows(z_e)  # [N, d]
            if self.entropy_rows is not None and self.entropy_rows < rows.shape[0]:
                pick = torch.randperm(rows.shape[0], generator=self.generator)
                rows = rows[pick[:self.entropy_rows].to(rows.device)]
            per_sample, codebook = self.entropy_terms(rows, self.inv_temperature)
            aux = aux + self.entropy_weight * (per_sample - codebook)
        if self.commitment_cost > 0:
            aux = aux + self.commitment_cost * (z_e - z_q.detach()).pow(2).mean()
        return QuantizerOutput(z_q, indices, aux, code_perplexity(indices, self.num_codes))

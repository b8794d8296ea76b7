"""Vector quantizer whose codebook follows an EMA of its assigned encoder outputs.

No codebook loss: the codebook is updated in place after each training forward pass
(lessonlib.quantizers.codebook.ema_codebook_update), optionally reviving dead codes every
`revive_every` steps. The encoder still gets the commitment loss. Same output convention
as lessonlib.quantizers.vq.VectorQuantizer (QuantizerOutput).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.core.information import code_perplexity
from lessonlib.quantizers.codebook import ema_codebook_update, revive_dead_codes
from lessonlib.quantizers.common import QuantizerOutput, from_rows, to_rows
from lessonlib.quantizers.vq import nearest_code


class EMAVectorQuantizer(nn.Module):
    """EMA codebook (decay, eps) with optional dead-code revival (threshold, every n steps)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, commitment_cost: float = 0.25,
                 decay: float = 0.99, eps: float = 1e-5, revive_threshold: float | None = None,
                 revive_every: int = 50, ema_update=ema_codebook_update,
                 revive=revive_dead_codes, seed: int = 0):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.num_codes = num_embeddings
        self.commitment_cost, self.decay, self.eps = commitment_cost, decay, eps
        self.revive_threshold, self.revive_every = revive_threshold, revive_every
        self.ema_update, self.revive = ema_update, revive
        self.generator = torch.Generator().manual_seed(seed)
        init = torch.randn(num_embeddings, embedding_dim) * 0.1
        self.register_buffer("codebook", init)
        self.register_buffer("cluster_size", torch.zeros(num_embeddings))
        self.register_buffer("embed_avg", init.clone())
        self.steps = 0
        self.revived = 0

    def forward(self, z_e: torch.Tensor):
        z = to_rows(z_e)  # [N, D]
        indices = nearest_code(z.detach(), self.codebook)  # [N]
        if self.training:
            with torch.no_grad():
                codebook, cluster_size, embed_avg = self.ema_update(
                    self.codebook, self.cluster_size, self.embed_avg, z.detach(), indices,
                    decay=self.decay, eps=self.eps)
                self.steps += 1
                if self.revive_threshold is not None and self.steps % self.revive_every == 0:
                    codebook, cluster_size, embed_avg, n = self.revive(
                        codebook, cluster_size, embed_avg, z.detach(),
                        threshold=self.revive_threshold, generator=self.generator)
                    self.revived += n
                self.codebook.copy_(codebook)
                self.cluster_size.copy_(cluster_size)
                self.embed_avg.copy_(embed_avg)
        z_q = self.codebook[indices]  # [N, D]
        commitment = F.mse_loss(z, z_q.detach())
        z_q_st = z + (z_q - z).detach()
        b, _, h, w = z_e.shape
        return QuantizerOutput(from_rows(z_q_st, z_e.shape), indices.reshape(b, h, w),
                               self.commitment_cost * commitment,
                               code_perplexity(indices, self.num_codes))

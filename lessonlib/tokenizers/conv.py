"""Convolutional encoder/decoder for discrete tokens: 28x28 image <-> 7x7 grid of D-dim vectors.

TokenEncoder: [B, 1, 28, 28] -> z_e [B, D, 7, 7]
TokenDecoder: z_q [B, D, 7, 7] -> logits [B, 1, 28, 28]
QuantizedAutoencoder wires encoder -> any lessonlib quantizer -> decoder.
"""

from __future__ import annotations

import torch
from torch import nn


class TokenEncoder(nn.Module):
    def __init__(self, embedding_dim: int, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.ReLU(),  # [B, w, 14, 14]
            nn.Conv2d(width, width, 4, 2, 1), nn.ReLU(),  # [B, w, 7, 7]
            nn.Conv2d(width, width, 3, 1, 1), nn.ReLU(),  # [B, w, 7, 7]
            nn.Conv2d(width, embedding_dim, 1),  # [B, D, 7, 7]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TokenDecoder(nn.Module):
    def __init__(self, embedding_dim: int, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(embedding_dim, width, 3, 1, 1), nn.ReLU(),  # [B, w, 7, 7]
            nn.ConvTranspose2d(width, width, 4, 2, 1), nn.ReLU(),  # [B, w, 14, 14]
            nn.ConvTranspose2d(width, 1, 4, 2, 1),  # [B, 1, 28, 28] logits
        )

    def forward(self, z_q: torch.Tensor) -> torch.Tensor:
        return self.net(z_q)


class QuantizedAutoencoder(nn.Module):
    """x -> encoder -> quantizer -> decoder; forward returns (logits, z_e, z_q, indices,
    aux_loss, perplexity). The quantizer follows lessonlib.quantizers.vq's output convention."""

    def __init__(self, quantizer: nn.Module, embedding_dim: int, width: int = 64):
        super().__init__()
        self.encoder = TokenEncoder(embedding_dim, width)
        self.quantizer = quantizer
        self.decoder = TokenDecoder(embedding_dim, width)

    def forward(self, x: torch.Tensor):
        z_e = self.encoder(x)  # [B, D, 7, 7]
        z_q, indices, aux_loss, perplexity = self.quantizer(z_e)
        return self.decoder(z_q), z_e, z_q, indices, aux_loss, perplexity

    @torch.no_grad()
    def tokenize(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, 1, 28, 28] -> token grid [B, 7, 7]."""
        return self.quantizer(self.encoder(x))[1]

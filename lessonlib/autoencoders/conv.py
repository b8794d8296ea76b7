"""A small convolutional autoencoder for 28x28 images.

encoder: [B, 1, 28, 28] -conv s2-> [B, 32, 14, 14] -conv s2-> [B, 64, 7, 7] -fc-> [B, out]
decoder: [B, latent] -fc-> [B, 64, 7, 7] -deconv-> [B, 32, 14, 14] -deconv-> [B, 1, 28, 28]
The decoder returns logits; sigmoid(logits) is the reconstruction in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn


class ConvEncoder(nn.Module):
    """x [B, 1, 28, 28] -> features [B, out_features]."""

    def __init__(self, out_features: int, width: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, kernel_size=4, stride=2, padding=1)  # 28 -> 14
        self.conv2 = nn.Conv2d(width, 2 * width, kernel_size=4, stride=2, padding=1)  # 14 -> 7
        self.fc = nn.Linear(2 * width * 7 * 7, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv1(x))  # [B, w, 14, 14]
        h = torch.relu(self.conv2(h))  # [B, 2w, 7, 7]
        return self.fc(h.flatten(1))  # [B, out_features]


class ConvDecoder(nn.Module):
    """z [B, latent_dim] -> logits [B, 1, 28, 28]."""

    def __init__(self, latent_dim: int, width: int = 32):
        super().__init__()
        self.width = width
        self.fc = nn.Linear(latent_dim, 2 * width * 7 * 7)
        self.deconv1 = nn.ConvTranspose2d(2 * width, width, kernel_size=4, stride=2, padding=1)
        self.deconv2 = nn.ConvTranspose2d(width, 1, kernel_size=4, stride=2, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc(z)).view(-1, 2 * self.width, 7, 7)  # [B, 2w, 7, 7]
        h = torch.relu(self.deconv1(h))  # [B, w, 14, 14]
        return self.deconv2(h)  # [B, 1, 28, 28] logits


class ConvAutoencoder(nn.Module):
    """Deterministic autoencoder: z = encoder(x), logits = decoder(z)."""

    def __init__(self, latent_dim: int, width: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = ConvEncoder(latent_dim, width)
        self.decoder = ConvDecoder(latent_dim, width)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # [B, latent_dim]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # [B, 1, 28, 28] logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

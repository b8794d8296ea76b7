"""The MLP VAE of Kingma & Welling for MNIST: 784-400-400-z (encoder), z-400-400-784.

The encoder has two heads, mu and logvar = log sigma^2; the decoder returns logits of a
Bernoulli (or the mean of a Gaussian) over the 784 pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from lessonlib.autoencoders.gaussian import reparameterize as reference_reparameterize


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPVAE(nn.Module):
    """Gaussian encoder q(z|x) = N(mu, diag(exp(logvar))) and an MLP decoder."""

    def __init__(self, x_dim: int = 784, h_dim: int = 400, z_dim: int = 20, depth: int = 2,
                 reparameterize: Callable | None = None):
        super().__init__()
        self.x_dim, self.z_dim = x_dim, z_dim
        self.body = nn.Sequential(_mlp([x_dim] + [h_dim] * depth), nn.ReLU())
        self.fc_mu = nn.Linear(h_dim, z_dim)
        self.fc_logvar = nn.Linear(h_dim, z_dim)
        self.decoder = _mlp([z_dim] + [h_dim] * depth + [x_dim])
        self.reparameterize = reparameterize or reference_reparameterize

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x.reshape(x.shape[0], -1))  # [B, h_dim]
        return self.fc_mu(h), self.fc_logvar(h)  # [B, z_dim] each

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # [B, x_dim] logits

    def forward(self, x: torch.Tensor, sample: bool = True):
        """Returns (logits [B, x_dim], mu [B, z], logvar [B, z], z [B, z])."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar) if sample else mu
        return self.decode(z), mu, logvar, z

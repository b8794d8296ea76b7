"""A small KL-regularised convolutional autoencoder: the Stable Diffusion recipe, scaled down.

Stable Diffusion's autoencoder (the "KL-f8" model of Rombach et al., CVPR 2022) maps an
image [B, 3, H, W] to a latent [B, 4, H/8, W/8]: 48 times fewer numbers. Its encoder
outputs a mean and a log-variance per latent value, like a VAE's; a latent is sampled with
the reparameterization trick, and the KL to N(0, I) is added to the loss with a tiny weight
(1e-6), next to L1, a perceptual term and a PatchGAN. This one keeps that interface at a
size a CPU trains in a minute: three stride-2 convolutions down, nearest-neighbour
upsampling and convolutions up, SiLU activations, no attention and no normalisation layers.

    model = KLAutoencoder(in_channels=3, latent_channels=4, kl_weight=1e-6)
    x_hat, mu, logvar, z, aux_loss, kl = model(x)   # x [B, 3, 64, 64] -> z [B, 4, 8, 8]

The forward pass follows the output convention of lessonlib.tokenizers (x_hat first,
aux_loss fifth), so lessonlib.tokenizers.vqgan.train_vqgan trains it with the VQ-GAN
losses unchanged; aux_loss is the weighted KL.

**Which KL weight.** The latent-diffusion code sums both the L1 term and the KL over each
image (and averages over the batch); train_vqgan averages the L1 over pixel values instead.
So that `kl_weight` means what it means in the Stable Diffusion configs, aux_loss divides
the per-image KL by the number of pixel values of an image:
aux_loss = kl_weight * mean_b KL_b / (C * H * W).

The model keeps its weights in channels-last memory order (about twice as fast for these
convolutions on CPUs); inputs and outputs are ordinary tensors.
"""

from __future__ import annotations

import torch
from torch import nn

from lessonlib.core.training import eval_mode

LOGVAR_RANGE = (-30.0, 20.0)  # the clamp of the latent-diffusion code's Gaussian


class KLEncoder(nn.Module):
    """x [B, C, H, W] -> (mu, logvar), each [B, latent_channels, H/8, W/8].

    widths (w1, w2, w3): channels after the first, second and third downsampling.
    """

    def __init__(self, in_channels: int = 3, latent_channels: int = 4,
                 widths: tuple[int, int, int] = (32, 64, 64)):
        super().__init__()
        w1, w2, w3 = widths
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, w1, 4, 2, 1), nn.SiLU(),  # [B, w1, H/2, W/2]
            nn.Conv2d(w1, w2, 4, 2, 1), nn.SiLU(),  # [B, w2, H/4, W/4]
            nn.Conv2d(w2, w3, 4, 2, 1), nn.SiLU(),  # [B, w3, H/8, W/8]
            nn.Conv2d(w3, w3, 3, 1, 1), nn.SiLU(),  # [B, w3, H/8, W/8]
            nn.Conv2d(w3, 2 * latent_channels, 3, 1, 1),  # [B, 2c, H/8, W/8]: mean, log-var
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=1)  # [B, c, h, w] each
        return mu, logvar.clamp(*LOGVAR_RANGE)


class KLDecoder(nn.Module):
    """z [B, latent_channels, h, w] -> x_hat [B, C, 8h, 8w], read directly as pixel values."""

    def __init__(self, out_channels: int = 3, latent_channels: int = 4,
                 widths: tuple[int, int, int] = (32, 64, 64)):
        super().__init__()
        w1, w2, w3 = widths
        self.net = nn.Sequential(
            nn.Conv2d(latent_channels, w3, 3, 1, 1), nn.SiLU(),  # [B, w3, h, w]
            nn.Conv2d(w3, w3, 3, 1, 1), nn.SiLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),  # [B, w3, 2h, 2w]
            nn.Conv2d(w3, w2, 3, 1, 1), nn.SiLU(),  # [B, w2, 2h, 2w]
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(w2, w1, 3, 1, 1), nn.SiLU(),  # [B, w1, 4h, 4w]
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(w1, out_channels, 3, 1, 1),  # [B, C, 8h, 8w]
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over all but the batch dimension: [B]."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(dim=1)


class KLAutoencoder(nn.Module):
    """Encoder -> sample z = mu + sigma * eps -> decoder, with the KL as auxiliary loss.

    forward(x [B, C, H, W]) returns (x_hat, mu, logvar, z, aux_loss, kl): x_hat
    [B, C, H, W]; mu, logvar, z [B, c, H/8, W/8]; aux_loss = kl_weight * mean_b KL_b /
    (C*H*W) (a 0-dim tensor); kl = mean_b KL_b in nats (0-dim). In eval mode z = mu (no
    sampling), as when a trained autoencoder reconstructs.
    """

    def __init__(self, in_channels: int = 3, latent_channels: int = 4,
                 widths: tuple[int, int, int] = (32, 64, 64), kl_weight: float = 1e-6):
        super().__init__()
        self.kl_weight = kl_weight
        self.encoder = KLEncoder(in_channels, latent_channels, widths)
        self.decoder = KLDecoder(in_channels, latent_channels, widths)
        self.to(memory_format=torch.channels_last)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x), each [B, c, H/8, W/8]."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel values [B, C, 8h, 8w] (not clipped)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor):
        mu, logvar = self.encode(x)  # [B, c, h, w] each
        if self.training:
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # [B, c, h, w]
        else:
            z = mu
        kl = gaussian_kl(mu, logvar).mean()  # nats per image
        aux_loss = self.kl_weight * kl / x[0].numel()
        return self.decode(z), mu, logvar, z, aux_loss, kl.detach()

    @torch.no_grad()
    def sample_latents(self, x: torch.Tensor, generator: torch.Generator | None = None,
                       chunk: int = 256) -> torch.Tensor:
        """z ~ q(z | x) for images [N, C, H, W] -> [N, c, h, w], in eval mode: the latents
        a latent-diffusion model is trained on (a sample, not only the mean). The noise is
        drawn on the CPU (same numbers on every device); the latents stay on the model's."""
        out = []
        with eval_mode(self):
            for part in x.split(chunk):
                mu, logvar = self.encode(part)  # [n, c, h, w] each
                eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)
                out.append(mu + torch.exp(0.5 * logvar) * eps)
        return torch.cat(out)

"""Adversarial losses of a VQ-GAN (Esser, Rombach and Ommer, CVPR 2021, "taming transformers").

Two players. The discriminator D scores images with logits (one per patch for a PatchGAN:
lessonlib.tokenizers.patchgan); the tokenizer's decoder is the generator.

    hinge_d_loss(real, fake) = 0.5 * (mean relu(1 - D(x)) + mean relu(1 + D(x_hat)))
    hinge_g_loss(fake)       = -mean D(x_hat)

The hinge stops pushing a logit once it is on the right side of the margin (real >= 1,
fake <= -1), so a confident discriminator gets no more gradient from those patches.

The adaptive weight balances the generator loss against the reconstruction loss by the
size of their gradients at the decoder's last layer G_L:

    lambda = ||grad_{G_L} L_rec|| / (||grad_{G_L} L_G|| + delta),  clamped to [0, max_weight]

and the tokenizer minimises L_rec + L_VQ + lambda * L_G (lambda detached: a weight, not a
path for gradients). Before the discriminator has learned anything its logits are noise,
so VQ-GAN switches the adversarial terms on only after a warm-up (`warmup_factor`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def hinge_d_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """Hinge loss of the discriminator, a 0-dim tensor.

    logits_real, logits_fake: D's logits on real and reconstructed images, any shapes
    ([B, 1, h, w] for a PatchGAN); the means run over all their elements.
    """
    real = F.relu(1.0 - logits_real).mean()  # real patches below the margin +1
    fake = F.relu(1.0 + logits_fake).mean()  # fake patches above the margin -1
    return 0.5 * (real + fake)


def hinge_g_loss(logits_fake: torch.Tensor) -> torch.Tensor:
    """Generator loss of the hinge GAN: -mean D(x_hat), a 0-dim tensor."""
    return -logits_fake.mean()


def adaptive_weight(rec_loss: torch.Tensor, g_loss: torch.Tensor, last_layer: torch.Tensor,
                    delta: float = 1e-4, max_weight: float = 1e4) -> torch.Tensor:
    """VQ-GAN's lambda = ||d rec_loss / d last_layer|| / (||d g_loss / d last_layer|| + delta).

    rec_loss, g_loss: 0-dim tensors whose graphs reach `last_layer` (the decoder's last
    weight tensor). Both graphs are kept (retain_graph=True) for the backward pass that
    follows. Returns a detached 0-dim tensor clamped to [0, max_weight]. Norms are
    Frobenius norms over the whole weight tensor.
    """
    g_rec = torch.autograd.grad(rec_loss, last_layer, retain_graph=True)[0]
    g_adv = torch.autograd.grad(g_loss, last_layer, retain_graph=True)[0]
    weight = g_rec.norm() / (g_adv.norm() + delta)
    return weight.clamp(0.0, max_weight).detach()


def warmup_factor(step: int, start: int) -> float:
    """1.0 once `step` >= `start`, else 0.0: the adversarial terms wait for `start` steps."""
    return 1.0 if step >= start else 0.0

"""Training a quantized autoencoder (image -> token grid -> image) on images in [0, 1].

The loss for one mini-batch x [B, 1, 28, 28] is the mean per-pixel binary cross-entropy
between x and sigmoid(logits), plus the quantizer's own auxiliary loss (codebook and
commitment terms for VQ, commitment and entropy terms for LFQ, 0 for FSQ):

    loss = BCE(logits, x) + aux_loss

    model = QuantizedAutoencoder(FSQ((8, 5, 5, 5)), 4, width=32)
    history = train_tokenizer(model, x_train, steps=600, batch_size=64, lr=2e-3)
    tokens = tokens_of(model, x_train)  # [N, 7, 7] integer grid
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.core.batching import minibatches
from lessonlib.core.device import model_device
from lessonlib.core.training import History, eval_mode, train


def tokenizer_step(model: nn.Module) -> Callable[[tuple], dict]:
    """Loss function for `train`: batch (x [B, C, H, W],) -> {"loss", "recon", "aux_loss",
    "perplexity"}; `model` follows QuantizedAutoencoder's output convention."""

    def step(batch: tuple) -> dict:
        (x,) = batch  # [B, 1, 28, 28]
        logits, z_e, z_q, indices, aux_loss, perplexity = model(x)
        recon = F.binary_cross_entropy_with_logits(logits, x)  # mean over pixels and batch
        return {"loss": recon + aux_loss, "recon": recon, "aux_loss": aux_loss,
                "perplexity": perplexity}

    return step


def train_tokenizer(model: nn.Module, images: torch.Tensor, *, steps: int, batch_size: int,
                    lr: float = 2e-3, seed: int = 0, desc: str = "tokenizer",
                    progress: bool = True,
                    callback: Callable[[int, dict], None] | None = None,
                    device: torch.device | str | None = None) -> History:
    """Train `model` on `images` [N, 1, H, W] with Adam for `steps` mini-batches.

    The batch order depends only on `seed`, so two models trained with the same seed see
    the same digits in the same order. `device`: where to train (the model and the images
    are moved there once; default: where the model is). Returns the History (loss, recon,
    aux_loss, perplexity per step).
    """
    device = torch.device(device) if device is not None else model_device(model)
    model.to(device)
    batches = minibatches(images.to(device), batch_size=batch_size,
                          generator=torch.Generator().manual_seed(seed))
    return train(model.parameters(), tokenizer_step(model), batches, steps=steps, lr=lr,
                 desc=desc, progress=progress, callback=callback)


@torch.no_grad()
def tokens_of(model: nn.Module, images: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """Token grid [N, h, w] of images [N, 1, H, W], computed in eval mode on the model's
    device; returned on the CPU."""
    device = model_device(model)
    with eval_mode(model):
        return torch.cat([model.tokenize(part.to(device)).cpu() for part in images.split(chunk)])


@torch.no_grad()
def reconstruct(model: nn.Module, images: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """Reconstructions sigmoid(logits) [N, 1, H, W] of images [N, 1, H, W], in eval mode on
    the model's device; returned on the CPU."""
    device = model_device(model)
    with eval_mode(model):
        return torch.cat([torch.sigmoid(model(part.to(device))[0]).cpu()
                          for part in images.split(chunk)])

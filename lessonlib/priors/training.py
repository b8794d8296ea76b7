"""Training a transformer prior on token grids: AdamW, linear warm-up then cosine decay,
and class dropout (the label replaced by "no class" with probability p), so that one
model is both a class-conditional and an unconditional prior.

    model = TokenTransformer(num_codes=K, causal=True)
    history = train_prior(model, tokens, labels, ar_loss, steps=2000, batch_size=128)

On a GPU pass `device=`: the model and the token grids move there once; the random
choices (batch order, dropped classes, MaskGIT's masks) are drawn on the CPU from one
seeded generator, so a run is the same on any device.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from lessonlib.core.batching import minibatches
from lessonlib.core.device import model_device
from lessonlib.core.training import History, train
from lessonlib.priors.transformer import TokenTransformer


def warmup_cosine(step: int, total: int, warmup: int, floor: float = 0.05) -> float:
    """Learning-rate factor: linear from 0 to 1 over `warmup` steps, then cosine to `floor`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def drop_classes(labels: torch.Tensor, p: float, null_class: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """labels [B] with each entry replaced by null_class with probability p."""
    if p <= 0:
        return labels
    drop = (torch.rand(labels.shape, generator=generator) < p).to(labels.device)  # [B]
    return torch.where(drop, torch.full_like(labels, null_class), labels)


def train_prior(model: TokenTransformer, tokens: torch.Tensor, labels: torch.Tensor,
                loss_fn: Callable, *, steps: int, batch_size: int = 128, lr: float = 1e-3,
                warmup: int = 100, weight_decay: float = 0.01, class_dropout: float = 0.1,
                seed: int = 0, desc: str = "prior", progress: bool = True,
                device: torch.device | str | None = None) -> History:
    """Train `model` on token grids tokens [M, N] (or [M, h, w]) with class labels [M].

    loss_fn(model, tokens [B, N], labels [B], generator) -> scalar loss (nats), for example
    autoregressive.ar_loss or maskgit.maskgit_loss (the generator draws any randomness of
    the loss, such as MaskGIT's masks). device: where to train (default: where the model
    is). Returns the History ("loss" in nats per step).
    """
    device = torch.device(device) if device is not None else model_device(model)
    model.to(device)
    flat = tokens.reshape(tokens.shape[0], -1).to(device)  # [M, N]
    gen = torch.Generator().manual_seed(seed)
    batches = minibatches(flat, labels.to(device), batch_size=batch_size, generator=gen)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "emb" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "emb" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": other, "weight_decay": 0.0}], lr=lr,
                            betas=(0.9, 0.95))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: warmup_cosine(s, steps, warmup))
    def step(batch):
        x, y = batch
        y = drop_classes(y, class_dropout, model.null_class, gen)
        return {"loss": loss_fn(model, x, y, gen)}

    model.train()
    return train(model.parameters(), step, batches, steps=steps, optimizer=opt, clip=1.0,
                 desc=desc, progress=progress, callback=lambda i, logs: schedule.step())

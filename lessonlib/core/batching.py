"""Mini-batches from in-memory tensors: shuffled, reproducible, endless."""

from __future__ import annotations

from collections.abc import Iterator

import torch


def minibatches(*tensors: torch.Tensor, batch_size: int,
                generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, ...]]:
    """Yield shuffled mini-batches of the given tensors forever (reshuffled each epoch).

    All tensors share their first dimension N; each batch holds `batch_size` rows
    (the last, shorter batch of an epoch is dropped so shapes stay fixed). Batches live on
    the device of the tensors (the order is drawn on the CPU from `generator`, so a run is
    the same on any device).
    """
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise ValueError("all tensors must have the same first dimension")
    if batch_size > n:
        raise ValueError(f"batch_size {batch_size} is larger than the data ({n} rows)")
    while True:
        order = torch.randperm(n, generator=generator)  # [N]
        for start in range(0, n - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]  # [B]
            yield tuple(t[idx.to(t.device)] for t in tensors)

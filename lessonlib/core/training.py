"""A small training loop (optimizer steps over a batch iterator, a tqdm bar, a history), and
`eval_mode`, the one way lessonlib switches a model to eval mode and back.

    def step(batch):                 # your loss for one mini-batch
        (x,) = batch
        loss = ...
        return {"loss": loss, "recon": recon.detach()}

    history = train(model.parameters(), step, batches, steps=2000, lr=1e-3)
    history["loss"]  # list of floats, one per step

`step` returns a dict whose "loss" is the scalar tensor to minimise; every other entry is
logged as a float.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from tqdm.auto import tqdm


class History(dict):
    """Per-step logs: name -> list of floats, plus `seconds` (wall time of the loop)."""

    seconds: float = 0.0

    def last(self, name: str, n: int = 50) -> float:
        """Mean of the last `n` logged values of `name`."""
        values = self[name][-n:]
        return sum(values) / len(values)


def train(params: Iterable[torch.nn.Parameter], step: Callable[[tuple], dict],
          batches: Iterator, *, steps: int, lr: float = 1e-3, clip: float | None = None,
          optimizer: torch.optim.Optimizer | None = None, desc: str = "training",
          progress: bool = True, callback: Callable[[int, dict], None] | None = None) -> History:
    """Run `steps` optimizer steps; return the History of everything `step` logged."""
    params = [p for p in params if p.requires_grad]
    opt = optimizer or torch.optim.Adam(params, lr=lr)
    history = History()
    start = time.perf_counter()
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=1.0, leave=False)
    for i in bar:
        logs = step(next(batches))
        loss = logs["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        for name, value in logs.items():
            value = value.detach() if isinstance(value, torch.Tensor) else value
            history.setdefault(name, []).append(float(value))
        if callback is not None:
            callback(i, logs)
        if i % 50 == 0:
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
    bar.close()
    history.seconds = time.perf_counter() - start
    return history


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` in eval mode for a with-block, then restore its previous mode (even if
    the block raises).

    Eval mode matters when measuring: an EMA quantizer in training mode would update its
    codebook, and a BatchNorm would use the batch's statistics instead of its running ones.
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)

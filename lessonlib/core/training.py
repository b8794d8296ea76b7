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

On a GPU: put the model on the device before building the optimizer, and either keep the
data there (minibatches then indexes it in place) or pass `device=` so that each batch is
moved once. The loop never waits for the device at each step: logged values stay on the
device and become floats once, at the end (the progress bar reads the loss every 50 steps).
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


def to_device(batch: tuple, device: torch.device | str | None) -> tuple:
    """The tensors of `batch` on `device` (unchanged if None or already there)."""
    if device is None:
        return batch
    return tuple(t.to(device, non_blocking=True) if isinstance(t, torch.Tensor) else t
                 for t in batch)


def _as_floats(values: list) -> list[float]:
    """Logged values (numbers, or 0-dim tensors possibly on a GPU) as floats, with one
    device-to-host copy for all the tensors."""
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    if not tensors:
        return [float(v) for v in values]
    floats = iter(torch.stack([v.reshape(()).float() for v in tensors]).tolist())
    return [next(floats) if isinstance(v, torch.Tensor) else float(v) for v in values]


def train(params: Iterable[torch.nn.Parameter], step: Callable[[tuple], dict],
          batches: Iterator, *, steps: int, lr: float = 1e-3, clip: float | None = None,
          optimizer: torch.optim.Optimizer | None = None, desc: str = "training",
          progress: bool = True, callback: Callable[[int, dict], None] | None = None,
          device: torch.device | str | None = None) -> History:
    """Run `steps` optimizer steps; return the History of everything `step` logged.

    device: where each batch is moved before `step` sees it (None: as the iterator yields).
    """
    params = [p for p in params if p.requires_grad]
    opt = optimizer or torch.optim.Adam(params, lr=lr)
    logged: dict[str, list] = {}
    start = time.perf_counter()
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=1.0, leave=False)
    for i in bar:
        logs = step(to_device(next(batches), device))
        loss = logs["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        for name, value in logs.items():
            value = value.detach() if isinstance(value, torch.Tensor) else value
            logged.setdefault(name, []).append(value)
        if callback is not None:
            callback(i, logs)
        if progress and i % 50 == 0:
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
    bar.close()
    history = History({name: _as_floats(values) for name, values in logged.items()})
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

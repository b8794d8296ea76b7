"""The training loops honour a device argument and never wait for the device at each step.

This machine has no GPU, so "another device" is PyTorch's meta device where only placement
is checked, and the loops are watched with a recorder where they move data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

from lessonlib.core import batching, training
from lessonlib.core.device import describe, get_device, model_device
from lessonlib.core.training import to_device, train
from lessonlib.quantizers import FSQ
from lessonlib.tokenizers import QuantizedAutoencoder, tokens_of, train_tokenizer
from lessonlib.tokenizers import training as tokenizer_training

HOST_READS = {torch.Tensor.item, torch.Tensor.tolist, torch.Tensor.__float__,
              torch.Tensor.cpu, torch.Tensor.numpy}


DISPATCH = {str(Path(torch.__file__).resolve().parent / name)
            for name in ("overrides.py", "_tensor.py")}


def _caller() -> str:
    """The file that asked for a host read (skipping torch's dispatch machinery)."""
    frame = sys._getframe(2)
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()) in DISPATCH:
        frame = frame.f_back
    return frame.f_code.co_filename if frame is not None else ""


class HostReads(TorchFunctionMode):
    """Counts the calls of the training loop itself that copy a tensor's value to the host
    (each one waits for a GPU). Adam's own step counters live on the CPU and are not
    counted: they are not device syncs."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in HOST_READS and _caller() == training.__file__:
            self.count += 1
        return func(*args, **(kwargs or {}))


def _regression(steps: int, *, progress: bool):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 3, generator=gen)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1
    model = torch.nn.Linear(3, 1)

    def step(batch):
        xb, yb = batch
        loss = (model(xb).squeeze(1) - yb).pow(2).mean()
        return {"loss": loss, "abs": loss.sqrt(), "lr": 0.01}

    batches = batching.minibatches(x, y, batch_size=32, generator=gen)
    with HostReads() as reads:
        history = train(model.parameters(), step, batches, steps=steps, lr=0.05,
                        progress=progress)
    return history, reads.count


def test_no_host_read_per_step():
    history, reads = _regression(200, progress=False)
    assert len(history["loss"]) == 200 and isinstance(history["loss"][0], float)
    assert history["loss"][-1] < 0.1 * history["loss"][0], "it still trains"
    assert history["lr"] == [0.01] * 200
    assert reads <= 3, f"{reads} host reads for 200 steps: the loop must not sync per step"
    _, with_bar = _regression(200, progress=True)
    assert with_bar <= 3 + 200 // 50, "the progress bar reads the loss every 50 steps"


def test_train_moves_each_batch_to_the_device(monkeypatch):
    moved, seen = [], []
    monkeypatch.setattr(training, "to_device",
                        lambda batch, device: moved.append(device) or to_device(batch, device))
    w = torch.zeros(2, requires_grad=True)

    def step(batch):
        seen.append(batch[0].device)
        return {"loss": (batch[0] @ w - 1).pow(2).mean()}

    train([w], step, iter([(torch.ones(4, 2),)] * 3), steps=3, device="cpu", progress=False)
    assert moved == ["cpu"] * 3 and seen == [torch.device("cpu")] * 3


def test_to_device_and_minibatches_keep_data_on_its_device():
    batch = to_device((torch.ones(3), 5), "meta")
    assert batch[0].device.type == "meta" and batch[1] == 5
    x = torch.empty(40, 2, device="meta")
    (xb,) = next(batching.minibatches(x, batch_size=8, generator=torch.Generator()))
    assert xb.device.type == "meta" and xb.shape == (8, 2)


def test_model_device_and_the_device_choice(monkeypatch):
    assert model_device(torch.nn.Linear(2, 2).to("meta")).type == "meta"
    assert model_device(torch.nn.ReLU()).type == "cpu"
    monkeypatch.setenv("LESSONLIB_DEVICE", "cpu")
    assert get_device() == torch.device("cpu") and "CPU" in describe(get_device())


def test_tokenizer_training_and_tokens_follow_the_device(monkeypatch):
    calls = []
    monkeypatch.setattr(tokenizer_training, "train",
                        lambda params, step, batches, **kw: calls.append(next(batches)))
    model = QuantizedAutoencoder(FSQ((3, 3)), 2, width=8)
    images = torch.rand(32, 1, 28, 28)
    train_tokenizer(model, images, steps=1, batch_size=8, device="meta")
    assert model_device(model).type == "meta" and calls[0][0].device.type == "meta"
    tokens = tokens_of(QuantizedAutoencoder(FSQ((3, 3)), 2, width=8), images)
    assert tokens.device.type == "cpu" and tokens.shape == (32, 7, 7)

"""Device choice: CUDA if present, else Apple MPS, else CPU; where a model lives."""

from __future__ import annotations

import os

import torch


def get_device(prefer: str | None = None) -> torch.device:
    """The device to train on.

    `prefer` (or the LESSONLIB_DEVICE environment variable) forces one of "cpu", "cuda",
    "mps"; otherwise the fastest available is used.
    """
    choice = prefer or os.environ.get("LESSONLIB_DEVICE")
    if choice:
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter (or buffer); the CPU if it has neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def describe(device: torch.device) -> str:
    """One line that says where the notebook trains, for the learner."""
    if device.type == "cuda":
        return f"Training on CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Training on Apple MPS"
    return f"Training on CPU ({torch.get_num_threads()} threads)"

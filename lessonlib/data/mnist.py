"""MNIST, 5,000 real digits (500 per class; 4,000 train / 1,000 test), as float tensors."""

from __future__ import annotations

import torch

from lessonlib.data.npz import load_arrays, split_mask


def load_mnist(split: str = "train", binarize: bool = False):
    """(x [N, 1, 28, 28] float32 in [0, 1], y [N] int64) of the fixed split.

    binarize=True thresholds at 0.5 (a fixed binarization; for dynamic binarization
    draw torch.bernoulli(x) per batch instead).
    """
    arrays = load_arrays("mnist_5k.npz")
    mask = split_mask(len(arrays["labels"]), arrays["test_idx"], split)
    x = torch.from_numpy(arrays["images"][mask]).float().div_(255.0).unsqueeze(1)  # [N,1,28,28]
    y = torch.from_numpy(arrays["labels"][mask].astype("int64"))  # [N]
    if binarize:
        x = (x > 0.5).float()
    return x, y

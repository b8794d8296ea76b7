"""scikit-learn's 8x8 digits (1,797 images, values 0..16), as float tensors in [0, 1]."""

from __future__ import annotations

import torch

from lessonlib.data.npz import load_arrays, split_mask


def load_digits(split: str = "train"):
    """(x [N, 1, 8, 8] float32 in [0, 1], y [N] int64) of the fixed 80/20 split."""
    arrays = load_arrays("digits8x8.npz")
    mask = split_mask(len(arrays["labels"]), arrays["test_idx"], split)
    x = torch.from_numpy(arrays["images"][mask]).float().div_(16.0).unsqueeze(1)  # [N,1,8,8]
    return x, torch.from_numpy(arrays["labels"][mask].astype("int64"))

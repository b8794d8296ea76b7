"""Cached reading of the shipped .npz files and their fixed train/test splits."""

from __future__ import annotations

import functools

import numpy as np

from lessonlib.data.paths import find_data_dir

SPLITS = ("train", "test", "all")


@functools.cache
def load_arrays(filename: str) -> dict[str, np.ndarray]:
    """All arrays of data/<filename>, read once per process."""
    with np.load(find_data_dir() / filename) as data:
        return {key: data[key] for key in data.files}


def split_mask(n: int, test_idx: np.ndarray, split: str) -> np.ndarray:
    """Boolean mask [n] of the rows in `split` ("train", "test" or "all")."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if split == "all":
        return np.ones(n, dtype=bool)
    test = np.zeros(n, dtype=bool)
    test[test_idx] = True
    return test if split == "test" else ~test

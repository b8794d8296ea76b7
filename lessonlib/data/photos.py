"""Real colour photographs from scikit-image's bundled samples, 128x128."""

from __future__ import annotations

import torch

from lessonlib.data.npz import load_arrays


def photo_names() -> list[str]:
    """Names of the shipped photographs."""
    return list(load_arrays("photos.npz"))


def load_photos(names: list[str] | None = None) -> dict[str, torch.Tensor]:
    """{name: image [3, 128, 128] float32 in [0, 1]} for the requested (default all) names."""
    arrays = load_arrays("photos.npz")
    chosen = list(arrays) if names is None else list(names)
    unknown = [n for n in chosen if n not in arrays]
    if unknown:
        raise KeyError(f"no photo named {unknown}; available: {list(arrays)}")
    return {n: torch.from_numpy(arrays[n]).permute(2, 0, 1).float().div(255.0) for n in chosen}

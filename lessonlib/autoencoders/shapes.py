"""Tensor-shape arithmetic: compression ratios and convolution output sizes."""

from __future__ import annotations

import math
from collections.abc import Sequence


def compression_ratio(input_shape: Sequence[int], latent_shape: Sequence[int]) -> float:
    """How many input numbers per latent number: prod(input_shape) / prod(latent_shape)."""
    return math.prod(input_shape) / math.prod(latent_shape)


def conv_out_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Spatial size after a convolution: floor((size + 2 * padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1

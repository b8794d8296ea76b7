"""lessonlib.core.image_metrics.psnr against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from lessonlib.core.image_metrics import psnr


def test_psnr_of_a_constant_error():
    x = torch.zeros(3, 1, 4, 4)
    assert psnr(x, x + 0.1) == pytest.approx(20.0)  # MSE 0.01 -> 20 dB
    assert psnr(x, x + 0.01) == pytest.approx(40.0)


def test_psnr_is_the_mean_of_per_image_values():
    x = torch.zeros(2, 1, 2, 2)
    x_hat = torch.stack([torch.full((1, 2, 2), 0.1), torch.full((1, 2, 2), 0.01)])
    assert psnr(x, x_hat) == pytest.approx((20.0 + 40.0) / 2)
    mse_of_batch = ((0.1**2) + (0.01**2)) / 2
    assert psnr(x, x_hat) > 10 * math.log10(1 / mse_of_batch)  # Jensen: per-image mean is larger


def test_psnr_max_value_and_identical_images():
    x = torch.rand(4, 3, 8, 8)
    assert psnr(255 * x, 255 * x + 25.5, max_value=255.0) == pytest.approx(20.0)
    assert psnr(x, x) == pytest.approx(100.0)  # capped, not inf
    assert isinstance(psnr(x, x), float)


def test_psnr_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        psnr(torch.zeros(2, 4), torch.zeros(2, 5))

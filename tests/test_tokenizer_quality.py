"""lessonlib.tokenizers.quality: sharpness against a loop; the four numbers."""

from __future__ import annotations

import math

import pytest
import torch

from lessonlib.core.image_metrics import psnr
from lessonlib.tokenizers.feature_net import FeatureNet
from lessonlib.tokenizers.quality import gradient_sharpness, reconstruction_quality


def loop_sharpness(images):
    total, count = 0.0, 0
    for img in images:
        for ch in img:
            h, w = ch.shape
            for i in range(h - 1):
                for j in range(w - 1):
                    dx = float(ch[i, j + 1] - ch[i, j])
                    dy = float(ch[i + 1, j] - ch[i, j])
                    total += math.hypot(dx, dy)
                    count += 1
    return total / count


def test_gradient_sharpness_against_a_loop():
    x = torch.rand(2, 3, 5, 6, generator=torch.Generator().manual_seed(0))
    assert gradient_sharpness(x) == pytest.approx(loop_sharpness(x), rel=1e-9)
    assert gradient_sharpness(torch.full((2, 1, 4, 4), 0.3)) == 0.0


def test_blur_lowers_sharpness():
    x = (torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1)
    assert gradient_sharpness(blurred) < gradient_sharpness(x)


def test_reconstruction_quality_of_a_perfect_copy():
    torch.manual_seed(0)
    judge = FeatureNet(widths=(4, 6, 8), embed_dim=6)
    x = torch.rand(40, 1, 12, 12)
    labels = judge(x).argmax(1).detach()
    report = reconstruction_quality(x, x.clone(), labels, judge)
    assert set(report) == {"psnr", "frechet", "accuracy", "sharpness", "ink"}
    assert report["ink"] == 1.0
    assert reconstruction_quality(x, 0.5 * x, labels, judge)["ink"] == pytest.approx(0.5)
    assert report["accuracy"] == 1.0
    assert abs(report["frechet"]) < 1e-6
    assert report["psnr"] == psnr(x, x)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    worse = reconstruction_quality(x, noisy, labels, judge)
    assert worse["frechet"] > max(report["frechet"], 0.0) and worse["psnr"] < report["psnr"]

"""lessonlib.core.flops and lessonlib.priors.unet: the counter against hand-counted
multiply-adds, and the U-Net's shapes and scaling with the number of positions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lessonlib.core.flops import count_flops
from lessonlib.priors.unet import UNetLike


def test_conv_and_linear_counts():
    conv = nn.Conv2d(3, 5, 3, 1, 1)
    assert count_flops(conv, (2, 3, 10, 12)) == 2 * 2 * 5 * 3 * 9 * 10 * 12
    lin = nn.Linear(7, 4)
    assert count_flops(lin, (6, 7)) == 2 * 6 * 7 * 4
    with torch.device("meta"):
        big = nn.Conv2d(256, 256, 3, 1, 1)
    assert count_flops(big, (1, 256, 64, 64)) == 2 * 256 * 256 * 9 * 64 * 64


def test_unet_shapes_on_real_tensors():
    torch.manual_seed(0)
    net = UNetLike(in_channels=4, base=8, mults=(1, 2), blocks=1, attention_levels=(1,), heads=2)
    x = torch.randn(2, 4, 16, 16)
    assert net(x).shape == x.shape


@pytest.mark.parametrize("attention", [(), (0, 1, 2)])
def test_convolution_cost_scales_with_positions(attention):
    with torch.device("meta"):
        net = UNetLike(in_channels=4, base=32, attention_levels=attention, heads=4)
    small, large = count_flops(net, (1, 4, 16, 16)), count_flops(net, (1, 4, 64, 64))
    if not attention:
        # Convolutions and linear layers: 16x the positions, 16x the work. The middle block
        # keeps its self-attention (as in Stable Diffusion), whose two products QK^T and AV
        # cost 2 * 2 * n^2 * C for n positions of C = 4 * base channels at 1/8 resolution.
        n_small, n_large, c_mid = (16 // 8) ** 2, (64 // 8) ** 2, 4 * 32
        assert large - 16 * small == 4 * c_mid * (n_large ** 2 - 16 * n_small ** 2)
    else:
        assert large > 16 * small  # attention grows with the square of the positions

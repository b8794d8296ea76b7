"""lessonlib.autoencoders.shapes, .interpolation, .shape_trace and their public checks."""

from __future__ import annotations

import math

import torch

from lessonlib.autoencoders import ConvAutoencoder
from lessonlib.autoencoders.interpolation import interpolate
from lessonlib.autoencoders.shape_trace import trace_shapes
from lessonlib.autoencoders.shapes import compression_ratio, conv_out_size
from lessonlib.checks.autoencoders.shapes import check_compression_ratio, check_conv_out_size


def test_compression_ratio_examples():
    assert compression_ratio((1, 3, 512, 512), (1, 4, 64, 64)) == 48.0
    assert compression_ratio((3, 256, 256), (32, 32)) == 192.0
    assert compression_ratio([3, 5], [2]) == 7.5


def test_conv_out_size_matches_torch():
    for size, k, s, p in [(28, 4, 2, 1), (7, 3, 1, 1), (8, 3, 2, 0), (11, 3, 3, 0), (5, 5, 1, 2)]:
        out = torch.nn.Conv2d(1, 1, k, s, p)(torch.zeros(1, 1, size, size))
        assert conv_out_size(size, k, s, p) == out.shape[-1]


def test_checks_reject_classic_slips():
    assert check_compression_ratio.run(compression_ratio).passed
    assert "floor" in check_compression_ratio.run(
        lambda a, b: float(math.prod(a) // math.prod(b))).message
    assert check_conv_out_size.run(conv_out_size).passed
    assert "both sides" in check_conv_out_size.run(lambda n, k, s, p: (n + p - k) // s + 1).message


def test_interpolate_endpoints_and_linearity():
    z1, z2 = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    path = interpolate(z1, z2, 5)
    assert path.shape == (5, 2)
    assert torch.equal(path[0], z1) and torch.equal(path[-1], z2)
    assert torch.allclose(path[2], (z1 + z2) / 2)
    assert interpolate(z1, z2, 2).shape == (2, 2)


def test_trace_shapes_of_the_conv_autoencoder():
    trace = dict(trace_shapes(ConvAutoencoder(16), torch.zeros(2, 1, 28, 28)))
    assert trace["input"] == (2, 1, 28, 28)
    assert trace["encoder.conv1"] == (2, 32, 14, 14)
    assert trace["encoder.conv2"] == (2, 64, 7, 7)
    assert trace["encoder.fc"] == (2, 16)
    assert trace["decoder.deconv2"] == (2, 1, 28, 28)

"""lessonlib.tokenizers.patchgan: receptive fields against a direct layer-by-layer
computation (the support of an input gradient), and the discriminator's shapes."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from lessonlib.tokenizers.patchgan import (
    PatchDiscriminator,
    conv_geometry,
    pix2pix_layers,
    receptive_box,
    receptive_field,
)


def ones_stack(geometry):
    """Conv layers of all-one weights, no bias: every input pixel in reach counts."""
    layers = []
    for kernel, stride, padding in geometry:
        conv = nn.Conv2d(1, 1, kernel, stride, padding, bias=False)
        nn.init.ones_(conv.weight)
        layers.append(conv)
    return nn.Sequential(*layers)


def seen_pixels(geometry, size, row, col):
    """Input pixels whose gradient reaches output unit (row, col): a bool map [size, size]."""
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = ones_stack(geometry).double()(x)  # [1, 1, h, w]
    out[0, 0, row, col].backward()
    return x.grad[0, 0] != 0


def support_extent(mask):
    rows = torch.nonzero(mask.any(dim=1)).flatten()
    cols = torch.nonzero(mask.any(dim=0)).flatten()
    return int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())


@pytest.mark.parametrize("layers", [
    [(3, 1)], [(4, 2)], pix2pix_layers(1), pix2pix_layers(2), pix2pix_layers(3),
    [(3, 1), (3, 2), (5, 2), (3, 1)], [(7, 2), (3, 2), (3, 3)], [(1, 1), (2, 2), (1, 3)],
])
def test_receptive_field_equals_the_support_of_the_input_gradient(layers):
    size = 240
    geometry = [(k, s, 0) for k, s in layers]
    mask = seen_pixels(geometry, size, 0, 0)
    top, left, bottom, right = support_extent(mask)
    assert (top, left) == (0, 0)
    assert bottom - top + 1 == receptive_field(layers) == right - left + 1


def test_receptive_field_random_stacks():
    rng = random.Random(0)
    for _ in range(25):
        layers = [(rng.randint(1, 5), rng.randint(1, 3)) for _ in range(rng.randint(1, 4))]
        mask = seen_pixels([(k, s, 0) for k, s in layers], 300, 1, 2)
        top, left, bottom, right = support_extent(mask)
        assert bottom - top + 1 == receptive_field(layers), layers


def test_known_values():
    assert receptive_field([]) == 1
    assert receptive_field(pix2pix_layers(3)) == 70
    assert [receptive_field(pix2pix_layers(n)) for n in (1, 2, 3)] == [16, 34, 70]
    assert receptive_field(((4, 2), (4, 2), (4, 2), (4, 1), (4, 1))) == 70


@pytest.mark.parametrize("n_layers", [1, 2])
def test_receptive_box_matches_the_gradient_support_with_padding(n_layers):
    disc = PatchDiscriminator(1, 4, n_layers, norm="none")
    geometry = disc.geometry
    assert geometry == [(k, s, 1) for k, s in pix2pix_layers(n_layers)]
    size = 28
    h = disc(torch.zeros(1, 1, size, size)).shape[-1]
    for row, col in [(0, 0), (h // 2, h - 1), (h - 1, 1)]:
        mask = seen_pixels(geometry, size, row, col)
        top, left, bottom, right = receptive_box(geometry, row, col)
        clipped = (max(top, 0), max(left, 0), min(bottom, size - 1), min(right, size - 1))
        assert support_extent(mask) == clipped
        assert bottom - top + 1 == receptive_field(disc.layers)


@pytest.mark.parametrize("in_channels, size, n_layers, out", [
    (1, 28, 1, 12), (1, 28, 2, 5), (3, 256, 3, 30), (3, 64, 3, 6), (1, 32, 1, 14),
])
def test_discriminator_output_grid(in_channels, size, n_layers, out):
    disc = PatchDiscriminator(in_channels, 8, n_layers)
    logits = disc(torch.randn(2, in_channels, size, size))
    assert logits.shape == (2, 1, out, out)


def test_discriminator_channels_follow_pix2pix():
    disc = PatchDiscriminator(3, 64, 3)
    convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in disc.modules()) == 3
    assert not any(isinstance(m, nn.BatchNorm2d)
                   for m in PatchDiscriminator(1, 8, 2, norm="none").modules())
    with pytest.raises(ValueError):
        PatchDiscriminator(1, 8, 1, norm="layer")
    assert disc.layers == pix2pix_layers(3)


def test_conv_geometry_reads_conv_layers_in_order():
    net = nn.Sequential(nn.Conv2d(1, 2, 5, 2, 2), nn.ReLU(), nn.Conv2d(2, 2, 3),
                        nn.Sequential(nn.Conv2d(2, 1, 1, 3)))
    assert conv_geometry(net) == [(5, 2, 2), (3, 1, 0), (1, 3, 0)]

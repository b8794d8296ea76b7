"""PatchGAN: a discriminator that judges every patch of an image (Isola et al., CVPR 2017).

A stack of strided convolutions without a final pooling layer: the output is a grid of
logits, and each logit sees only the input pixels inside its receptive field. pix2pix's
discriminator (the one VQ-GAN and the Stable Diffusion autoencoder reuse) is

    conv 4x4 /2, then (n_layers - 1) x [conv 4x4 /2, norm], then conv 4x4 /1, norm,
    then conv 4x4 /1 -> 1 channel;  LeakyReLU(0.2) between layers, padding 1 everywhere

whose receptive field is 70x70 for n_layers = 3 (1, 2 and 3 give 16, 34 and 70).

    receptive_field([(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)])  # 70
    D = PatchDiscriminator(in_channels=1, width=32, n_layers=1)  # for 28x28 digits
    D.layers          # [(4, 2), (4, 1), (4, 1)] -> receptive field 16
    D(x)              # [B, 1, 28, 28] -> logits [B, 1, 12, 12]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Input pixels (per side) seen by one output unit of a stack of convolutions.

    layers: (kernel, stride) per layer, from input to output. Starting from r = 1 and a
    jump (distance in input pixels between neighbouring units) of 1, each layer adds
    (kernel - 1) * jump to r and multiplies the jump by its stride.
    """
    r, jump = 1, 1
    for kernel, stride in layers:
        r += (kernel - 1) * jump
        jump *= stride
    return r


def receptive_box(geometry: Sequence[tuple[int, int, int]], row: int,
                  col: int) -> tuple[int, int, int, int]:
    """Input pixel box (top, left, bottom, right), inclusive, seen by output unit (row, col).

    geometry: (kernel, stride, padding) per layer, input to output. Walking back from the
    output, a unit range [a, b] of a layer's output comes from the input range
    [a * stride - padding, b * stride - padding + kernel - 1]. The box may extend past the
    image (into the zero padding): clip it to draw it.
    """
    top, bottom, left, right = row, row, col, col
    for kernel, stride, padding in reversed(list(geometry)):
        top, bottom = top * stride - padding, bottom * stride - padding + kernel - 1
        left, right = left * stride - padding, right * stride - padding + kernel - 1
    return top, left, bottom, right


def conv_geometry(module: nn.Module) -> list[tuple[int, int, int]]:
    """(kernel, stride, padding) of every Conv2d of `module`, in registration order
    (square kernels, strides and paddings assumed: the first entry of each is used)."""
    out = []
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            padding = layer.padding if isinstance(layer.padding, tuple) else (0,)
            out.append((layer.kernel_size[0], layer.stride[0], int(padding[0])))
    return out


def pix2pix_layers(n_layers: int = 3) -> list[tuple[int, int]]:
    """(kernel, stride) of pix2pix's PatchGAN with `n_layers` strided layers."""
    return [(4, 2)] * n_layers + [(4, 1), (4, 1)]


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'batch' or 'none', got {kind!r}")


class PatchDiscriminator(nn.Module):
    """pix2pix's PatchGAN for any image size and channel count.

    in_channels: channels of the images (1 for digits, 3 for RGB); width: channels of the
    first layer, doubled by each later layer up to 8 * width; n_layers: strided layers
    (3 is pix2pix's 70x70 discriminator); norm: "batch" (pix2pix) or "none".
    forward: images [B, C, H, W] -> logits [B, 1, h, w], one per patch.
    """

    def __init__(self, in_channels: int = 3, width: int = 64, n_layers: int = 3,
                 norm: str = "batch"):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        channels = width
        for i in range(1, n_layers):
            nxt = width * min(2 ** i, 8)
            layers += [nn.Conv2d(channels, nxt, 4, 2, 1, bias=norm == "none"),
                       _norm(norm, nxt), nn.LeakyReLU(0.2)]
            channels = nxt
        nxt = width * min(2 ** n_layers, 8)
        layers += [nn.Conv2d(channels, nxt, 4, 1, 1, bias=norm == "none"), _norm(norm, nxt),
                   nn.LeakyReLU(0.2), nn.Conv2d(nxt, 1, 4, 1, 1)]
        self.net = nn.Sequential(*layers)

    @property
    def geometry(self) -> list[tuple[int, int, int]]:
        """(kernel, stride, padding) per conv layer, input to output."""
        return conv_geometry(self.net)

    @property
    def layers(self) -> list[tuple[int, int]]:
        """(kernel, stride) per conv layer: the argument of receptive_field."""
        return [(k, s) for k, s, _ in self.geometry]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # [B, 1, h, w]

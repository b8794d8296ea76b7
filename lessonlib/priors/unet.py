"""The shape of a diffusion U-Net, to count what it costs (it is never trained here).

Latent-diffusion models denoise with a U-Net: at each of several resolutions a few residual
blocks of 3x3 convolutions, self-attention over all positions at the finer levels,
downsampling by 2 between levels, then the mirror image upwards with skip connections.
Stable Diffusion 1.x's has 320 base channels, multipliers (1, 2, 4, 4), two residual
blocks per level and attention at the first three levels (Rombach et al., CVPR 2022). This
module keeps that skeleton and drops what does not change the counting argument (the
timestep embedding, the text cross-attention, normalisation layers).

    with torch.device("meta"):
        net = UNetLike(in_channels=4, base=320, mults=(1, 2, 4, 4), attention_levels=(0, 1, 2))
    count_flops(net, (1, 4, 64, 64))   # lessonlib.core.flops
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class ResBlock(nn.Module):
    """x + conv(silu(conv(silu(x)))), with a 1x1 convolution on the skip when the channel
    count changes: [B, c_in, H, W] -> [B, c_out, H, W]."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.conv2(F.silu(self.conv1(F.silu(x))))


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H*W positions, plus a 4x feed-forward layer (a
    transformer block): [B, C, H, W] -> [B, C, H, W]."""

    def __init__(self, channels: int, heads: int = 8):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)
        self.ff = nn.Sequential(nn.Linear(channels, 4 * channels), nn.GELU(),
                                nn.Linear(4 * channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # [B, HW, C]
        q, k, v = self.qkv(tokens).view(b, h * w, 3, self.heads, c // self.heads).unbind(2)
        a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                           v.transpose(1, 2))  # [B, heads, HW, C/heads]
        tokens = tokens + self.out(a.transpose(1, 2).reshape(b, h * w, c))
        tokens = tokens + self.ff(tokens)
        return tokens.transpose(1, 2).reshape(b, c, h, w)


class UNetLike(nn.Module):
    """A U-Net skeleton: [B, in_channels, H, W] -> [B, in_channels, H, W].

    base: channels of the first level; mults: channel multiplier per level (one level per
    entry, downsampling by 2 between them); blocks: residual blocks per level on the way
    down (one more on the way up, as in Stable Diffusion); attention_levels: the levels
    (0 = full resolution) whose blocks are followed by self-attention (the middle block
    always has one, as in Stable Diffusion). H and W must divide
    by 2 ** (len(mults) - 1).
    """

    def __init__(self, in_channels: int = 4, base: int = 320,
                 mults: Sequence[int] = (1, 2, 4, 4), blocks: int = 2,
                 attention_levels: Sequence[int] = (0, 1, 2), heads: int = 8):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, base, 3, 1, 1)
        widths = [base * m for m in mults]
        self.down, self.up, skips = nn.ModuleList(), nn.ModuleList(), [base]
        channels = base
        for level, width in enumerate(widths):
            for _ in range(blocks):
                layers = [ResBlock(channels, width)]
                if level in attention_levels:
                    layers.append(SelfAttention(width, heads))
                self.down.append(nn.Sequential(*layers))
                channels = width
                skips.append(channels)
            if level < len(widths) - 1:
                self.down.append(nn.Conv2d(channels, channels, 3, 2, 1))  # downsample
                skips.append(channels)
        self.mid = nn.Sequential(ResBlock(channels, channels), SelfAttention(channels, heads),
                                 ResBlock(channels, channels))
        for level in reversed(range(len(widths))):
            for i in range(blocks + 1):
                layers = [ResBlock(channels + skips.pop(), widths[level])]
                channels = widths[level]
                if level in attention_levels:
                    layers.append(SelfAttention(channels, heads))
                if level > 0 and i == blocks:
                    layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                               nn.Conv2d(channels, channels, 3, 1, 1)]
                self.up.append(nn.Sequential(*layers))
        self.head = nn.Conv2d(channels, in_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)  # [B, base, H, W]
        saved = [h]
        for layer in self.down:
            h = layer(h)
            saved.append(h)
        h = self.mid(h)
        for layer in self.up:
            h = layer(torch.cat([h, saved.pop()], dim=1))
        return self.head(F.silu(h))

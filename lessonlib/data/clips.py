"""Short video clips generated in code: one dSprites-style sprite moving across the frame.

Each clip picks a shape (square, ellipse, heart), a size, a start position and a constant
velocity, and draws the sprite frame after frame (it may spin, too). Shapes are those of
lessonlib.data.sprites.

    clips, tracks = make_moving_sprites(8, frames=17, size=32, seed=0)
    clips   # [8, 1, 17, 32, 32] in {0, 1}: [N, C, T, H, W], the layout of a Conv3d
    tracks  # [8, 17, 2]: the sprite's centre (x, y) per frame, as fractions of the side
"""

from __future__ import annotations

import math

import torch

from lessonlib.data.sprites import _inside  # the shape test of make_sprites


def make_moving_sprites(n: int, frames: int = 17, size: int = 32, seed: int = 0,
                        spin: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """n clips of one moving sprite: (clips [n, 1, frames, size, size], tracks [n, frames, 2]).

    The centre starts in [0.25, 0.75] of the side and moves at a constant velocity chosen
    so that it stays within [0.15, 0.85] over the clip; with spin=True the sprite also
    turns by a constant angle per frame.
    """
    gen = torch.Generator().manual_seed(seed)
    shape = torch.randint(0, 3, (n,), generator=gen)  # [n]
    scale = 0.10 + 0.08 * torch.rand(n, generator=gen)  # half-size, fraction of the side
    start = 0.25 + 0.5 * torch.rand(n, 2, generator=gen)  # [n, 2] (x, y)
    end = 0.15 + 0.7 * torch.rand(n, 2, generator=gen)  # [n, 2] where it is at the end
    velocity = (end - start) / max(frames - 1, 1)  # [n, 2] per frame
    angle0 = 2 * math.pi * torch.rand(n, generator=gen)
    turn = (0.2 * torch.randn(n, generator=gen)) if spin else torch.zeros(n)
    t = torch.arange(frames).float()  # [T]
    tracks = start[:, None, :] + t[None, :, None] * velocity[:, None, :]  # [n, T, 2]
    angles = angle0[:, None] + t[None, :] * turn[:, None]  # [n, T]
    coords = (torch.arange(size).float() + 0.5) / size
    py, px = torch.meshgrid(coords, coords, indexing="ij")
    px, py = px.reshape(1, 1, -1), py.reshape(1, 1, -1)  # [1, 1, P]
    dx = px - tracks[..., 0:1]  # [n, T, P]
    dy = py - tracks[..., 1:2]
    cos, sin = angles.cos()[..., None], angles.sin()[..., None]  # [n, T, 1]
    u = (cos * dx + sin * dy) / scale[:, None, None]  # rotate into the sprite's frame
    v = (-sin * dx + cos * dy) / scale[:, None, None]
    inside = _inside(shape.repeat_interleave(frames), u.reshape(n * frames, -1),
                     v.reshape(n * frames, -1))  # [n*T, P]
    clips = inside.float().reshape(n, 1, frames, size, size)
    return clips, tracks

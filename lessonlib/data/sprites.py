"""dSprites-style sprites generated in code, with their known factors of variation.

Factors (columns of `factors`): shape (0 square, 1 ellipse, 2 heart), scale (6 values),
rotation (10 values over [0, 2pi)), x position (16 values), y position (16 values).
"""

from __future__ import annotations

import math

import torch

SPRITE_FACTORS = ("shape", "scale", "rotation", "x", "y")
FACTOR_SIZES = (3, 6, 10, 16, 16)


def _inside(shape: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Membership of local coordinates u, v [n, P] (unit size) in each sprite's shape [n]."""
    square = (u.abs() <= 0.8) & (v.abs() <= 0.8)
    ellipse = (u / 1.0).pow(2) + (v / 0.6).pow(2) <= 1.0
    # heart: (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, flipped so the point is down
    hx, hy = 1.2 * u, -1.2 * v + 0.2
    heart = (hx.pow(2) + hy.pow(2) - 1).pow(3) - hx.pow(2) * hy.pow(3) <= 0
    s = shape.unsqueeze(1)
    return torch.where(s == 0, square, torch.where(s == 1, ellipse, heart))


def make_sprites(n: int, seed: int = 0, size: int = 32):
    """n random sprites: (images [n, 1, size, size] in {0, 1}, factors int64 [n, 5])."""
    gen = torch.Generator().manual_seed(seed)
    factors = torch.stack([torch.randint(0, k, (n,), generator=gen) for k in FACTOR_SIZES], 1)
    shape, scale_i, rot_i, x_i, y_i = factors.unbind(1)  # [n] each
    scale = 0.10 + 0.03 * scale_i.float()  # half-size as a fraction of the image
    angle = rot_i.float() * (2 * math.pi / FACTOR_SIZES[2])
    cx = 0.2 + 0.6 * x_i.float() / (FACTOR_SIZES[3] - 1)  # centre in [0.2, 0.8]
    cy = 0.2 + 0.6 * y_i.float() / (FACTOR_SIZES[4] - 1)
    coords = (torch.arange(size).float() + 0.5) / size  # pixel centres in (0, 1)
    py, px = torch.meshgrid(coords, coords, indexing="ij")
    px, py = px.reshape(1, -1), py.reshape(1, -1)  # [1, P]
    dx, dy = px - cx.unsqueeze(1), py - cy.unsqueeze(1)  # [n, P]
    cos, sin = angle.cos().unsqueeze(1), angle.sin().unsqueeze(1)
    u = (cos * dx + sin * dy) / scale.unsqueeze(1)  # rotate into the sprite's frame
    v = (-sin * dx + cos * dy) / scale.unsqueeze(1)
    images = _inside(shape, u, v).float().reshape(n, 1, size, size)
    return images, factors

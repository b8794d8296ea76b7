"""Crops of a few large images: many training examples from a handful of photographs.

    random_crops(images, n, size=64, generator=g)   # [n, C, 64, 64], random places and flips
    tile_crops(image, size=64, stride=32)           # [k, C, 64, 64], a regular grid
"""

from __future__ import annotations

import torch


def random_crops(images: torch.Tensor, n: int, size: int = 64, flip: bool = True,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """n crops of size x size from images [M, C, H, W]: a random image, a random place, and
    (flip=True) a left-right mirror with probability 1/2. Returns [n, C, size, size]."""
    m, _, h, w = images.shape
    if size > h or size > w:
        raise ValueError(f"crop size {size} exceeds the images ({h}x{w})")
    which = torch.randint(0, m, (n,), generator=generator).tolist()
    top = torch.randint(0, h - size + 1, (n,), generator=generator).tolist()
    left = torch.randint(0, w - size + 1, (n,), generator=generator).tolist()
    mirror = (torch.rand(n, generator=generator) < 0.5).tolist()
    crops = []
    for i, t, lf, f in zip(which, top, left, mirror):
        crop = images[i, :, t:t + size, lf:lf + size]  # [C, size, size]
        crops.append(crop.flip(-1) if flip and f else crop)
    return torch.stack(crops).contiguous()


def tile_crops(image: torch.Tensor, size: int = 64, stride: int = 32) -> torch.Tensor:
    """All size x size crops of image [C, H, W] whose corners lie on a grid of `stride`
    pixels, row by row: [k, C, size, size]."""
    _, h, w = image.shape
    return torch.stack([image[:, t:t + size, lf:lf + size]
                        for t in range(0, h - size + 1, stride)
                        for lf in range(0, w - size + 1, stride)])

"""lessonlib.data.clips and lessonlib.data.crops: moving sprites follow their tracks;
crops are true sub-images (found again by exhaustive search)."""

from __future__ import annotations

import torch

from lessonlib.data.clips import make_moving_sprites
from lessonlib.data.crops import random_crops, tile_crops


def test_clips_shapes_values_and_determinism():
    clips, tracks = make_moving_sprites(5, frames=9, size=32, seed=3)
    assert clips.shape == (5, 1, 9, 32, 32) and tracks.shape == (5, 9, 2)
    assert set(clips.unique().tolist()) <= {0.0, 1.0}
    again, _ = make_moving_sprites(5, frames=9, size=32, seed=3)
    assert torch.equal(clips, again)
    assert not torch.equal(clips, make_moving_sprites(5, frames=9, size=32, seed=4)[0])
    assert (clips.sum(dim=(1, 3, 4)) > 0).all(), "the sprite is visible in every frame"
    steps = tracks[:, 1:] - tracks[:, :-1]  # constant velocity
    assert torch.allclose(steps, steps[:, :1].expand_as(steps), atol=1e-6)
    assert tracks.min() >= 0.15 - 1e-6 and tracks.max() <= 0.85 + 1e-6


def test_sprite_centroid_follows_its_track():
    clips, tracks = make_moving_sprites(6, frames=5, size=64, seed=0, spin=False)
    coords = (torch.arange(64).float() + 0.5) / 64
    mass = clips[:, 0].sum(dim=(2, 3))  # [n, T]
    cx = (clips[:, 0] * coords.view(1, 1, 1, -1)).sum(dim=(2, 3)) / mass
    cy = (clips[:, 0] * coords.view(1, 1, -1, 1)).sum(dim=(2, 3)) / mass
    # squares and ellipses are symmetric; a heart's centroid sits near its centre
    assert ((cx - tracks[..., 0]).abs() < 0.08).all()
    assert ((cy - tracks[..., 1]).abs() < 0.08).all()


def find(crop, images):
    """(image, top, left, flipped) where `crop` occurs in images [M, C, H, W], or None."""
    size = crop.shape[-1]
    for i, image in enumerate(images):
        for top in range(image.shape[1] - size + 1):
            for left in range(image.shape[2] - size + 1):
                window = image[:, top:top + size, left:left + size]
                if torch.equal(window, crop):
                    return i, top, left, False
                if torch.equal(window.flip(-1), crop):
                    return i, top, left, True
    return None


def test_random_crops_are_sub_images_with_flips():
    images = torch.rand(2, 3, 12, 10)
    crops = random_crops(images, 40, 6, generator=torch.Generator().manual_seed(0))
    assert crops.shape == (40, 3, 6, 6) and crops.is_contiguous()
    found = [find(c, images) for c in crops]
    assert all(f is not None for f in found)
    flips = sum(f[3] for f in found)
    assert 5 < flips < 35
    assert not any(f[3] for f in (find(c, images) for c in
                                  random_crops(images, 10, 6, flip=False)))


def test_tile_crops_positions():
    image = torch.arange(3 * 8 * 8, dtype=torch.float32).view(3, 8, 8)
    tiles = tile_crops(image, size=4, stride=2)
    assert tiles.shape == (9, 3, 4, 4)
    assert torch.equal(tiles[0], image[:, :4, :4]) and torch.equal(tiles[-1], image[:, 4:, 4:])
    assert torch.equal(tiles[1], image[:, 0:4, 2:6])

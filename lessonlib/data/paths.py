"""Where the shipped data sets live: inside the package (lessonlib/data/files/), so a plain
`pip install` of the course brings them; LESSONLIB_DATA may point elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

MARKER = "mnist_5k.npz"
PACKAGE_DATA = Path(__file__).resolve().parent / "files"


def find_data_dir() -> Path:
    """The folder holding the course's .npz files (raises a helpful error if none)."""
    env = os.environ.get("LESSONLIB_DATA")
    if env:
        path = Path(env).expanduser()
        if (path / MARKER).exists():
            return path
        raise FileNotFoundError(f"LESSONLIB_DATA={env} holds no {MARKER}")
    if (PACKAGE_DATA / MARKER).exists():
        return PACKAGE_DATA
    raise FileNotFoundError(
        f"The course data ({MARKER}) is missing from {PACKAGE_DATA}: reinstall the course "
        "package (pip install of the repository or its wheel ships the data).")

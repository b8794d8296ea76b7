"""Where the chapters live and how their files are named."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
RELEASES = ROOT / "notebooks"


def chapters() -> list[str]:
    """Chapter ids (nbgrader assignment ids) in course order: those with a jupytext source."""
    return sorted(p.name for p in SOLUTIONS.glob("ch[0-9][0-9]_*") if (p / f"{p.name}.py").exists())


def source_py(chapter: str, root: Path = ROOT) -> Path:
    """The reviewable source of truth: jupytext py:percent text."""
    return root / "solutions" / chapter / f"{chapter}.py"


def solution_ipynb(chapter: str, root: Path = ROOT) -> Path:
    """The instructor notebook (nbgrader source), paired with source_py, outputs stripped."""
    return root / "solutions" / chapter / f"{chapter}.ipynb"


def release_ipynb(chapter: str, root: Path = ROOT) -> Path:
    """The generated student notebook."""
    return root / "notebooks" / chapter / f"{chapter}.ipynb"


def tool_env(**extra: str) -> dict[str, str]:
    """os.environ with this interpreter's bin folder first on PATH (nbgrader calls `alembic`)."""
    import os
    import sys

    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), **extra}

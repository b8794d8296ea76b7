#!/usr/bin/env python3
"""One entry point for the course: set-up, JupyterLab, tests and maintenance.

    python3 course.py lab        # set up (once) and open the course in JupyterLab
    python3 course.py test       # set up (once) and run the whole test suite (what CI runs)
    python3 course.py test --quick   # the unit tests only (under a minute): the edit loop

Maintenance:
    python3 course.py generate   # regenerate notebooks/ (student versions) from solutions/
    python3 course.py results [--full]   # execute every chapter headlessly, print its figures
    python3 course.py bench      # time per notebook (fast, full), per widget render, per check
    python3 course.py bench --grading   # time grading 8 submissions: --jobs 1 vs --jobs 2

`results` and `bench` exit non-zero when a chapter fails, and name it.

Grading (instructors; see the README):
    python3 course.py grade CHAPTER [--jobs N] [--student ID ...] [--force] [--timeout S]
        autograde every submission under submitted/<student>/CHAPTER in N worker processes
        (default: every core), with a progress bar and a failure table; results go into the
        course gradebook as with `nbgrader autograde`; unchanged submissions are skipped
        unless --force. `--dask SCHEDULER_ADDRESS` sends the same tasks to a Dask cluster.

Every command first makes sure the project-local virtual environment `.venv` holds the
pinned stack (constraints.txt). That step is idempotent: it reinstalls only when
the dependencies in pyproject.toml or constraints.txt changed since the last install.

Extra arguments go to the tool: `python3 course.py test -k ch03 -x` passes `-k ch03 -x` to
pytest (`--quick` adds `-m "not slow"`: no notebook execution, nbgrader or JupyterLab).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".course-stamp"


def _stack_hash() -> str:
    """What the installed stack depends on: constraints.txt and, in pyproject.toml, the
    build-system, project and tool.setuptools tables (not the test or lint settings: editing
    pytest's markers reinstalls nothing)."""
    import tomllib  # here, not at the top: Python < 3.11 must reach ensure_env's message

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    install = {"build-system": pyproject.get("build-system"), "project": pyproject.get("project"),
               "setuptools": pyproject.get("tool", {}).get("setuptools")}
    digest = hashlib.sha256()
    digest.update(json.dumps(install, sort_keys=True).encode())
    digest.update((ROOT / "constraints.txt").read_bytes())
    return digest.hexdigest()


def ensure_env() -> None:
    """Create .venv and install the pinned stack plus lessonlib, unless already done."""
    if sys.version_info < (3, 11):
        sys.exit("The course needs Python >= 3.11 (nbgrader 0.9.6 requires it).")
    if not PYTHON.exists():
        print("Creating the virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _stack_hash()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("Installing the course stack into .venv (first run only) ...", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    # torch first, pinned, so that nothing later pulls a CUDA build.
    subprocess.run([*pip, "-c", "constraints.txt", "torch"], cwd=ROOT, check=True)
    subprocess.run([*pip, "-c", "constraints.txt", "-e", ".[dev]"], cwd=ROOT, check=True)
    STAMP.write_text(wanted)


def run(args: list[str], **env: str) -> int:
    """Run a command from the venv's bin directory, with the course root as cwd."""
    full_env = {**os.environ, **env, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    full_env.pop("PYTHONHOME", None)
    return subprocess.call(args, cwd=ROOT, env=full_env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    ensure_env()
    if command == "lab":
        as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return run([str(BIN / "jupyter"), "lab", "--notebook-dir", str(ROOT),
                    "--ServerApp.default_url=/lab/tree/notebooks", *as_root, *rest])
    if command == "test":
        tier = ["-m", "not slow"] if "--quick" in rest else []
        rest = [arg for arg in rest if arg != "--quick"]
        # worksteal: a worker that runs out of tests takes queued ones from the other, so the
        # long notebook and grading tests do not end up in one worker's queue
        return run([str(PYTHON), "-m", "pytest", "-n", "2", "--dist", "worksteal", *tier, *rest],
                   MPLBACKEND="Agg")
    if command == "grade":
        return run([str(PYTHON), "-m", "tools.grade", *rest])
    if command in {"generate", "results", "bench"}:
        return run([str(PYTHON), "-m", f"tools.{command}", *rest], MPLBACKEND="Agg")
    print(f"unknown command {command!r}\n{__doc__}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

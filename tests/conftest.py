"""Shared fixtures, the test tiers, and the tables printed at the end of a run.

Tiers: `slow` marks a test that starts nbgrader, JupyterLab, a notebook kernel or the data
build; `notebook` and `grading` tests are slow too. `python3 course.py test --quick` runs
`-m "not slow"` (the unit tests); `python3 course.py test` runs everything.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# One thread per process: xdist runs two workers on two cores, and a torch that spreads
# each worker over every core is many times slower (and steals the other engineers' core).
# Set before torch is imported, so the notebook kernels and nbgrader runs inherit it.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Checks called by tests record their outcome for the score card: into a throw-away file,
# never into a learner's progress file in the course folder.
if "LESSONLIB_PROGRESS" not in os.environ:
    _progress = Path(tempfile.mkdtemp(prefix="course-test-progress-"))
    atexit.register(shutil.rmtree, _progress, ignore_errors=True)
    os.environ["LESSONLIB_PROGRESS"] = str(_progress / "progress.json")

from tools.chapters import chapters  # noqa: E402

SLOW_MARKERS = ("slow", "notebook", "grading")
REPORTS_ENV = "COURSE_TEST_REPORTS"  # this run's folder for the summary tables
TITLES = {"grading": "Checker self-test (autograded points per exercise)",
          "execution": "Headless execution of the solutions (papermill, fast mode)",
          "release": "Untouched student releases run to the end (nbval, fast mode)"}


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        # A fresh folder per run, handed to xdist workers through the environment (they
        # are started after this hook): concurrent runs never mix their tables.
        os.environ[REPORTS_ENV] = tempfile.mkdtemp(prefix="course-test-reports-")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(item.get_closest_marker(m) for m in SLOW_MARKERS[1:]):
            item.add_marker(pytest.mark.slow)


def write_report(kind: str, name: str, text: str) -> None:
    """Save one block of a summary table (read back by pytest_terminal_summary).

    `text` is a header line plus rows; the header is printed once per table.
    """
    folder = Path(os.environ.get(REPORTS_ENV) or tempfile.mkdtemp(prefix="course-test-reports-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{kind}--{name}.txt").write_text(text)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    folder = os.environ.get(REPORTS_ENV)
    if hasattr(config, "workerinput") or not folder or not Path(folder).exists():
        return
    for kind, title in TITLES.items():
        blocks = sorted(Path(folder).glob(f"{kind}--*.txt"))
        if not blocks:
            continue
        terminalreporter.section(title)
        for i, block in enumerate(blocks):
            lines = block.read_text().splitlines()
            terminalreporter.write_line("\n".join(lines if i == 0 else lines[1:]))


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput") and os.environ.get(REPORTS_ENV):
        shutil.rmtree(os.environ.pop(REPORTS_ENV), ignore_errors=True)


@pytest.fixture(scope="session")
def all_chapters() -> list[str]:
    return chapters()


def pytest_generate_tests(metafunc):
    if "chapter" in metafunc.fixturenames:
        metafunc.parametrize("chapter", chapters())

"""Shared fixtures, and the tables printed at the end of a run (grading, execution times)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.chapters import chapters  # noqa: E402

REPORTS = ROOT / "build" / "reports"


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        shutil.rmtree(REPORTS, ignore_errors=True)
        REPORTS.mkdir(parents=True, exist_ok=True)


def write_report(kind: str, name: str, text: str) -> None:
    """Save one block of a summary table (read back by pytest_terminal_summary)."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{kind}--{name}.txt").write_text(text)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput") or not REPORTS.exists():
        return
    titles = {"grading": "Checker self-test (autograded points per exercise)",
              "execution": "Headless execution (fast mode)"}
    for kind, title in titles.items():
        blocks = sorted(REPORTS.glob(f"{kind}--*.txt"))
        if not blocks:
            continue
        terminalreporter.section(title)
        for i, block in enumerate(blocks):
            lines = block.read_text().splitlines()
            terminalreporter.write_line("\n".join(lines if i == 0 else lines[1:]))


@pytest.fixture(scope="session")
def all_chapters() -> list[str]:
    return chapters()


def pytest_generate_tests(metafunc):
    if "chapter" in metafunc.fixturenames:
        metafunc.parametrize("chapter", chapters())

"""The learner's progress: the latest outcome of every public check, kept in a small local
file in the course folder, for the score card of the review chapter.

Each call of a public check in a notebook (what the cell after an exercise does) records
{name: {"status": "not attempted" | "wrong" | "passed", "time": ISO time}}; pressing a model
answer's reveal button records the written exercise as "written". The file is
`.lessonlib-progress.json` in the course folder: the parent of a chapter's folder (chNN_x/),
or the working folder (LESSONLIB_PROGRESS may name another file). Nothing is recorded while
nbgrader grades, a folder that cannot be written is skipped, nothing is sent anywhere.
The catalog (catalog.json, written by tools/generate.py) lists every chapter's exercises, so
that the card also shows what was never tried.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

from lessonlib.core.runmode import is_grading

FILE_NAME = ".lessonlib-progress.json"
CATALOG = Path(__file__).resolve().parent / "catalog.json"
WRITTEN = "written"
_CHAPTER_DIR = re.compile(r"^ch\d\d_\w+$")


def progress_path(start: str | Path | None = None) -> Path:
    """Where the progress file lives for a notebook running in `start` (default: cwd)."""
    env = os.environ.get("LESSONLIB_PROGRESS")
    if env:
        return Path(env).expanduser()
    folder = Path(start or Path.cwd()).resolve()
    if _CHAPTER_DIR.match(folder.name):
        folder = folder.parent
    return folder / FILE_NAME


def load_progress(path: str | Path | None = None) -> tuple[dict, str]:
    """(outcomes, note): the recorded outcomes, and a note when there are none to read."""
    path = Path(path) if path is not None else progress_path()
    if not path.exists():
        return {}, f"No progress recorded yet ({path} does not exist): run some exercises."
    try:
        data = json.loads(path.read_text())
        outcomes = data["outcomes"]
        if not isinstance(outcomes, dict):
            raise TypeError("outcomes is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as err:
        return {}, (f"The progress file {path} could not be read ({type(err).__name__}); "
                    "the card starts empty. Run the exercises again to refill it.")
    return outcomes, ""


def record_outcome(name: str, status: str, *, path: str | Path | None = None,
                   when: datetime | None = None) -> None:
    """Remember the latest outcome of the exercise `name` (never while nbgrader grades)."""
    if is_grading():
        return
    path = Path(path) if path is not None else progress_path()
    outcomes, _ = load_progress(path)
    outcomes[name] = {"status": status,
                      "time": (when or datetime.now()).isoformat(timespec="seconds")}
    try:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"outcomes": outcomes}, indent=1, sort_keys=True))
        tmp.replace(path)
    except OSError:  # a read-only course folder must not break an exercise's check
        return


def catalog() -> dict[str, list[dict]]:
    """{chapter: [{"name", "grade_id", "kind", "points"}, ...]} of every graded exercise."""
    return json.loads(CATALOG.read_text()) if CATALOG.exists() else {}

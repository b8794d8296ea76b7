"""The instructor's side of parallel grading: the gradebook seed that every task starts from,
what "new or changed" means, and the merge of each task's result into the course.

The merge writes what `nbgrader autograde` itself would have written for that submission:
the student and the submission (with the submission's timestamp), then, for a graded one,
each autograded cell's auto_score and needs_manual_grade (kept True where a person already
entered a manual score, as nbgrader's SaveAutoGrades does), each solution cell's
auto_comment, each notebook's late penalty, and the autograded folder. For a submission that
could not be graded it does what nbgrader does: the submission is recorded, its grades are
left as they were, and its autograded folder is removed.

State beside the autograded copy, in autograded/<student>/ (hidden, so nbgrader and the
Formgrader never list it): .<chapter>.grading.json (the digest of what was graded, the
status, the reason, the problems) and .<chapter>.grading.log (nbgrader's log).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

# The tables that hold students and their submissions; everything else in a gradebook is
# the course's assignments, notebooks and the cells nbgrader checks submissions against.
SUBMISSION_TABLES = ("comment", "grade", "submitted_notebook", "submitted_assignment",
                     "student")


def sqlite_path(db_url: str) -> Path:
    if not db_url.startswith("sqlite:///"):
        raise ValueError(f"parallel grading needs nbgrader's SQLite gradebook, not {db_url!r}")
    return Path(db_url.removeprefix("sqlite:///"))


def gradebook_seed(db_url: str) -> bytes:
    """The course gradebook without its students: every task's shard starts from it.

    It holds the assignments (due dates) and the source of every graded and locked cell,
    which is what nbgrader autograde checks a submission against (it restores locked cells
    and hidden tests from here), so workers need no copy of the release."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "seed.db"
        source = sqlite3.connect(sqlite_path(db_url))
        target = sqlite3.connect(copy)
        with target:
            source.backup(target)  # consistent even while someone else reads the gradebook
        source.close()
        with target:
            for table in SUBMISSION_TABLES:
                target.execute(f"DELETE FROM {table}")
        target.execute("VACUUM")
        target.close()
        return copy.read_bytes()


def assignment_fingerprint(db_url: str, chapter: str) -> str:
    """A digest of what a submission is graded against: the due date, and every graded or
    locked cell (name, type, points, checksum of its source). Regenerating the assignment
    with changed tests changes it, so the next `grade` regrades everyone."""
    with Gradebook(db_url) as gb:
        assignment = gb.find_assignment(chapter)
        parts = [str(assignment.duedate)]
        for nb in sorted(assignment.notebooks, key=lambda n: n.name):
            for cell in sorted(nb.source_cells, key=lambda c: c.name):
                parts.append(f"{nb.name}/{cell.name}/{cell.cell_type}/{cell.locked}/"
                             f"{cell.checksum}")
            for cell in sorted(nb.grade_cells, key=lambda c: c.name):
                parts.append(f"{nb.name}/{cell.name}/points={cell.max_score}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def read_submission(folder: Path) -> dict[str, bytes]:
    """{relative path: bytes} of every file of a submitted/<student>/<chapter>/ folder."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def submission_digest(files: dict[str, bytes], fingerprint: str) -> str:
    """What decides "new or changed": the submitted files and the assignment's tests."""
    digest = hashlib.sha256(fingerprint.encode())
    for rel in sorted(files):
        digest.update(b"\0" + rel.encode() + b"\0")
        digest.update(hashlib.sha256(files[rel]).digest())
    return digest.hexdigest()


def state_path(autograded_root: Path, student: str, chapter: str) -> Path:
    return autograded_root / student / f".{chapter}.grading.json"


def read_state(autograded_root: Path, student: str, chapter: str) -> dict | None:
    path = state_path(autograded_root, student, chapter)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def is_current(state: dict | None, digest: str, autograded: Path, in_gradebook: bool) -> bool:
    """True when this exact submission was already graded (or already failed) and its
    result is still in place: the gradebook has the submission and, if it was graded, the
    autograded folder is there."""
    if not state or state.get("digest") != digest or not in_gradebook:
        return False
    return state.get("status") != "graded" or autograded.is_dir()


def recorded_submissions(db_url: str, chapter: str) -> dict[str, float | None]:
    """{student: extension in seconds (None: none)} of the chapter's submissions that the
    course gradebook already has (an extension changes the late penalty)."""
    with Gradebook(db_url) as gb:
        return {sub.student.id: sub.extension.total_seconds() if sub.extension else None
                for sub in gb.find_assignment(chapter).submissions}


def merge_result(db_url: str, course_id: str, autograded_root: Path, result: dict,
                 digest: str, fallback_timestamp=None) -> None:
    """Write one task's result into the course gradebook and autograded/ (see the module
    docstring); then record the digest, status and log beside the autograded copy."""
    chapter, student = result["chapter"], result["student"]
    timestamp = result.get("timestamp") or fallback_timestamp
    with Gradebook(db_url, course_id) as gb, warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy's autoflush warnings (as in autograde)
        warnings.filterwarnings("ignore", message=".*not in session.*")
        gb.update_or_create_student(student)
        kwargs = {"timestamp": parse_utc(timestamp)} if timestamp else {}
        gb.update_or_create_submission(chapter, student, **kwargs)
        if result["status"] == "graded":
            _copy_cells(gb, chapter, student, result["notebooks"])
    dest = autograded_root / student / chapter
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if result["status"] == "graded":
        _write_autograded(dest, result["autograded"])
    state = {"digest": digest, "status": result["status"], "reason": result["reason"],
             "problems": result["problems"], "seconds": round(result["seconds"], 1),
             "host": result.get("host", ""),
             "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    state_path(autograded_root, student, chapter).write_text(json.dumps(state, indent=1))
    log_path(autograded_root, student, chapter).write_text(result.get("log", ""))


def log_path(autograded_root: Path, student: str, chapter: str) -> Path:
    return autograded_root / student / f".{chapter}.grading.log"


def _copy_cells(gb: Gradebook, chapter: str, student: str, notebooks: dict) -> None:
    for name, recorded in notebooks.items():
        nb = gb.find_submission_notebook(name, chapter, student)
        for grade in nb.grades:
            if grade.name not in recorded["grades"]:
                continue
            auto_score, shard_needs_manual = recorded["grades"][grade.name]
            grade.auto_score = auto_score
            # the shard had no manual score; the course may (nbgrader's SaveAutoGrades rule)
            grade.needs_manual_grade = bool(shard_needs_manual) or grade.manual_score is not None
        for comment in nb.comments:
            if comment.name in recorded["comments"]:
                comment.auto_comment = recorded["comments"][comment.name]
        if "late_submission_penalty" in recorded:
            nb.late_submission_penalty = recorded["late_submission_penalty"]
    gb.db.commit()


def _write_autograded(dest: Path, files: dict[str, list]) -> None:
    for rel, (data, mode) in sorted(files.items()):
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode)

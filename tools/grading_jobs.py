"""One submission, autograded on its own: the task that `course.py grade` runs in a local
process pool or on a Dask worker.

The task is self-contained, so it needs no shared file system: its input is a dict
(`task`) plus the gradebook seed (bytes of a SQLite gradebook holding the course's
assignments and their tests, no students), and its output is a dict of plain data. In a
scratch folder it lays out a one-student course (the course's nbgrader_config.py, the
submission's files, the non-notebook files of the assignment's source folder, the seed as the
gradebook shard), runs `nbgrader autograde` there in a subprocess (its own kernel, its own
SQLite file, its own Jupyter runtime folder), and reads back what nbgrader recorded.

task keys:
    chapter, student      the assignment id and the student id
    submission            {relative path: bytes}, the files of submitted/<student>/<chapter>/
    source_files          {relative path: bytes}, the assignment's non-notebook source files
    config                text of the course's nbgrader_config.py
    timeout               per-cell limit in seconds (None: the config's Execute.timeout)
    extension_seconds     the student's extension for this assignment, if any (late penalty)

result keys:
    chapter, student, status ("graded" or "failed"), reason (why it failed, "" if graded),
    problems              what went wrong in a graded submission (timed-out cells, missing cells)
    timestamp             the submission time nbgrader recorded (ISO text) or None
    notebooks             {notebook: {"grades": {cell: [auto_score, needs_manual_grade]},
                                      "comments": {cell: auto_comment},
                                      "late_submission_penalty": float|None}}
                          only what `nbgrader autograde` wrote: the cells of each autograded
                          notebook (and its late penalty), or every grade of a notebook the
                          student did not submit (scored 0)
    autograded            {relative path: [bytes, mode]}, the autograded folder (empty if failed)
    log, seconds, host

Only the standard library, nbformat and nbgrader are imported, and nothing from the course's
tools/ package: `tools.grade` ships this module's code to Dask workers by value.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRADED, FAILED = "graded", "failed"
TIMEOUT_ENAME = "CellTimeoutError"  # nbgrader's Execute.error_on_timeout
LOG_TAIL = 20_000  # characters of the nbgrader log kept in the result
ERROR_LINE = re.compile(r"^\s*[\w.]*(?:Error|Exception)\b.*$", re.MULTILINE)


def grade_submission(task: dict, seed: bytes) -> dict:
    """Autograde one submission in a scratch course; never raises (a failure is a result)."""
    start = time.perf_counter()
    result = {"chapter": task["chapter"], "student": task["student"], "status": FAILED,
              "reason": "", "problems": [], "timestamp": None, "notebooks": {},
              "autograded": {}, "log": "", "seconds": 0.0, "host": socket.gethostname()}
    scratch = Path(tempfile.mkdtemp(prefix=f"grade-{task['student']}-"))
    try:
        _grade_in(scratch, task, seed, result)
    except Exception as err:  # noqa: BLE001  (the others must go on: report it)
        result["status"] = FAILED
        result["reason"] = result["reason"] or f"grading error: {type(err).__name__}: {err}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        result["seconds"] = time.perf_counter() - start
    return result


def _grade_in(scratch: Path, task: dict, seed: bytes, result: dict) -> None:
    chapter, student = task["chapter"], task["student"]
    (scratch / "nbgrader_config.py").write_text(task["config"])
    _write_files(scratch / "source" / chapter, task.get("source_files", {}))
    submitted = scratch / "submitted" / student / chapter
    _write_files(submitted, task["submission"])
    db = scratch / "gradebook.db"
    db.write_bytes(seed)
    db_url = f"sqlite:///{db}"
    if task.get("extension_seconds"):
        _add_extension(db_url, chapter, student, task["extension_seconds"])

    cmd = [sys.executable, "-m", "nbgrader", "autograde", chapter, "--student", student,
           "--force", "--log-level=INFO", f"--CourseDirectory.root={scratch}",
           "--CourseDirectory.source_directory=source", f"--db={db_url}"]
    if task.get("timeout"):
        cmd.append(f"--Execute.timeout={int(task['timeout'])}")
    (scratch / "runtime").mkdir()
    proc = subprocess.run(cmd, cwd=scratch, capture_output=True, text=True, env=_env(scratch))
    log = proc.stdout + proc.stderr
    result["log"] = log[-LOG_TAIL:]

    autograded = scratch / "autograded" / student / chapter
    notebooks = sorted(autograded.glob("*.ipynb")) if autograded.is_dir() else []
    result.update(_read_shard(db_url, chapter, student, autograded, submitted))
    if proc.returncode == 0 and notebooks:
        result["status"] = GRADED
        result["autograded"] = _read_files(autograded)
        result["problems"] = (_timed_out_cells(notebooks, task.get("timeout"))
                              + _missing_cells(db_url, chapter, task["submission"]))
    else:
        result["reason"] = failure_reason(log, task["submission"])


def _env(scratch: Path) -> dict[str, str]:
    """This interpreter's bin folder first on PATH (nbgrader calls `alembic`), one thread per
    kernel, and a Jupyter runtime folder (kernel connection files) of this task's own."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "JUPYTER_RUNTIME_DIR": str(scratch / "runtime")}
    env.pop("NBGRADER_EXECUTION", None)
    return env


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _read_files(folder: Path) -> dict[str, list]:
    """{relative path: [bytes, permission bits]} of every file under folder."""
    return {p.relative_to(folder).as_posix(): [p.read_bytes(), p.stat().st_mode & 0o777]
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _add_extension(db_url: str, chapter: str, student: str, seconds: float) -> None:
    """Give the shard the student's extension, so the late penalty is the course's."""
    from datetime import timedelta

    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(chapter, student, extension=timedelta(seconds=seconds))


def _read_shard(db_url: str, chapter: str, student: str, autograded: Path,
                submitted: Path) -> dict:
    """What `nbgrader autograde` recorded for this submission, cell by cell.

    Only what autograde writes: the grades and comments of the cells present in an
    autograded notebook (SaveAutoGrades), or every grade of a notebook the student did not
    submit (scored 0), and each autograded notebook's late penalty."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {"timestamp": None, "notebooks": {}}
    with Gradebook(db_url) as gb:
        try:
            submission = gb.find_submission(chapter, student)
        except MissingEntry:
            return out
        out["timestamp"] = submission.timestamp.isoformat() if submission.timestamp else None
        for nb in submission.notebooks:
            path = autograded / f"{nb.name}.ipynb"
            if path.exists():
                cells = _grade_ids(path.read_text())
                grades = [g for g in nb.grades if g.name in cells]
                comments = [c for c in nb.comments if c.name in cells]
            elif not (submitted / f"{nb.name}.ipynb").exists():
                grades, comments = list(nb.grades), []
            else:
                continue
            out["notebooks"][nb.name] = {
                "grades": {g.name: [g.auto_score, g.needs_manual_grade] for g in grades},
                "comments": {c.name: c.auto_comment for c in comments},
            }
            if path.exists():  # AssignLatePenalties ran on it
                out["notebooks"][nb.name]["late_submission_penalty"] = nb.late_submission_penalty
    return out


def _grade_ids(text: str) -> list[str]:
    """The nbgrader grade_ids of a notebook's cells, read from its JSON."""
    cells = json.loads(text).get("cells", [])
    return [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells
            if isinstance(c, dict) and c.get("metadata", {}).get("nbgrader", {}).get("grade_id")]


def _timed_out_cells(notebooks: list[Path], timeout) -> list[str]:
    """One line per cell that nbgrader interrupted at the per-cell time limit."""
    limit = f" after {int(timeout)} s" if timeout else ""
    found = []
    for path in notebooks:
        for i, cell in enumerate(json.loads(path.read_text()).get("cells", [])):
            if any(o.get("output_type") == "error" and o.get("ename") == TIMEOUT_ENAME
                   for o in cell.get("outputs", [])):
                gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                name = f"cell {gid}" if gid else f"cell {i}"
                found.append(f"{name} of {path.stem} timed out{limit} (interrupted; the rest "
                             "was graded)")
    return found


def _missing_cells(db_url: str, chapter: str, submission: dict[str, bytes]) -> list[str]:
    """Graded cells of the assignment that a (readable) submitted notebook lacks."""
    from nbgrader.api import Gradebook

    found = []
    with Gradebook(db_url) as gb:
        for nb in gb.find_assignment(chapter).notebooks:
            data = submission.get(f"{nb.name}.ipynb")
            if data is None:
                found.append(f"notebook {nb.name}.ipynb was not submitted (scored 0)")
                continue
            present = set(_grade_ids(data.decode("utf-8", "replace")))
            wanted = [c.name for c in (*nb.grade_cells, *nb.solution_cells)]
            missing = sorted({name for name in wanted if name not in present})
            if missing:
                found.append(f"{nb.name}.ipynb lacks graded cells {', '.join(missing)}")
    return found


def malformed(submission: dict[str, bytes]) -> str | None:
    """Why a submitted notebook cannot be graded (unreadable JSON, no cells), or None."""
    import nbformat

    for rel, data in sorted(submission.items()):
        if not rel.endswith(".ipynb") or "/" in rel:
            continue
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            return f"malformed notebook {rel}: not valid JSON ({err})"
        if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
            return f"malformed notebook {rel}: it has no list of cells"
        try:
            nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception as err:  # noqa: BLE001  (any reader error is the reason)
            return f"malformed notebook {rel}: {str(err).splitlines()[0][:200]}"
    return None


def failure_reason(log: str, submission: dict[str, bytes]) -> str:
    """Why nbgrader could not grade a submission, from the files and the nbgrader log."""
    bad = malformed(submission)
    if bad:
        return bad
    if "DeadKernelError" in log or "Kernel died" in log:
        return "the kernel died (killed, crashed or out of memory): not graded"
    if "UnresponsiveKernelError" in log:
        return "the kernel stopped responding and could not be interrupted: not graded"
    if "No notebooks found" in log or "No notebooks were matched" in log:
        return "no notebook of the assignment in the submission"
    errors = [m.group(0).strip() for m in ERROR_LINE.finditer(log)]
    last = errors[-1] if errors else (log.strip().splitlines() or ["(empty log)"])[-1]
    return f"nbgrader failed: {last.strip()[:300]}"

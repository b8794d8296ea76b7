"""`course.py grade`: parallel autograding of a synthetic class of chapter 0, checked against
plain `nbgrader autograde` on the same submissions (per-cell scores, comments, timestamps,
what the Formgrader lists, feedback, export), plus its failure table, its skipping of
unchanged submissions, and the same tasks on a local Dask cluster of two workers.

The class (tools.synthetic_class): the solution, the blank release, two wrong versions
(tests/wrong/ch00_latent_spaces.py), one that loops in an answer cell (cut by a short per-cell
limit), one that kills its kernel and one whose notebook is not valid JSON."""

from __future__ import annotations

import csv
import io
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.chapters import ROOT, tool_env
from tools.grade import grade, load_course
from tools.synthetic_class import make_course, submit

CH = "ch00_latent_spaces"
TIMEOUT = 20  # per-cell limit (s): ch00's slowest cell, the imports, takes ~7 s on a busy machine
CLASS = {"solution": "solution", "blank": "blank", "wrong1": "wrong1", "wrong2": "wrong2",
         "looper": "loops", "killer": "kills_kernel", "broken": "malformed"}
GRADED = {"solution", "blank", "wrong1", "wrong2", "looper"}
# Independent oracle: what each student must score, cell by cell (None: not autograded).
EXPECTED = {
    "solution": {"test_compression_ratio": 2, "test_answer_q1": 1},
    "blank": {"test_compression_ratio": 0, "test_answer_q1": 0},
    "wrong1": {"test_compression_ratio": 0, "test_answer_q1": 0},  # inverted ratio, "a"
    "wrong2": {"test_compression_ratio": 0, "test_answer_q1": 0},  # sums the dims, "d"
    "looper": {"test_compression_ratio": 2, "test_answer_q1": 0},  # q1 cell never ends
    "killer": {"test_compression_ratio": None, "test_answer_q1": None},
    "broken": {"test_compression_ratio": None, "test_answer_q1": None},
}
pytestmark = pytest.mark.grading


def nbgrader(cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd,
                          capture_output=True, text=True,
                          env=tool_env(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1"))
    if ok:
        assert proc.returncode == 0, f"nbgrader {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def synthetic_class(root: Path, students: dict[str, str]) -> Path:
    make_course(root, CH)
    for student, kind in students.items():
        submit(root, CH, student, kind)
    return root


def gradebook_cells(course: Path) -> dict[str, dict]:
    """student -> {cell: (auto_score, needs_manual_grade, auto_comment)} and the timestamp."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.find_assignment(CH).submissions:
            nb = sub.notebooks[0]
            cells = {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades}
            comments = {c.name: c.auto_comment for c in nb.comments}
            out[sub.student.id] = {"timestamp": sub.timestamp, "grades": cells,
                                   "comments": comments,
                                   "late_penalty": nb.late_submission_penalty}
    return out


def autograded_students(course: Path) -> set[str]:
    return {p.parent.name for p in (course / "autograded").glob(f"*/{CH}") if p.is_dir()}


def score_table(ways: dict[str, dict]) -> str:
    """Per-cell auto scores of every way side by side (the equivalence table)."""
    names = list(ways)
    lines = [f"{'student':9s} {'cell':24s} " + " ".join(f"{n:>12s}" for n in names)]
    for student in CLASS:
        for cell in EXPECTED[student]:
            row = [ways[n].get(student, {}).get("grades", {}).get(cell, ("-",))[0]
                   for n in names]
            lines.append(f"{student:9s} {cell:24s} " + " ".join(f"{v!s:>12s}" for v in row))
    return "\n".join(lines)


def formgrader_view(course: Path, tmp_path: Path) -> dict:
    """What the Formgrader lists for the chapter (nbgrader's NbGraderAPI, its back end)."""
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config import Config

    config = Config()
    config.Exchange.root = str(tmp_path / "no-exchange")
    api = NbGraderAPI(coursedir=load_course(course).coursedir, config=config)
    def by_student(rows):  # without the database ids (random), in student order
        rows = [{k: v for k, v in row.items() if k not in {"id", "index"}} for row in rows]
        return sorted(rows, key=lambda row: row["student"])

    return {"autograded": api.get_autograded_students(CH),
            "submissions": by_student(api.get_submissions(CH)),
            "notebook": by_student(api.get_notebook_submissions(CH, CH))}


def hand_grade_and_export(course: Path, out_csv: Path) -> list[dict]:
    """Enter a manual score as the Formgrader would, then `nbgrader export`."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade_ = gb.find_grade("checkpoint_latent_diffusion", CH, CH, "solution")
        grade_.manual_score = 1.5
        gb.db.commit()
    nbgrader(course, "export", "--to", str(out_csv))
    return sorted(csv.DictReader(out_csv.open()), key=lambda row: row["student_id"])


def grade_three_ways(tmp_path: Path) -> dict:
    """The class graded three ways: plain nbgrader, --jobs 1 (API), --jobs 2 (command line).
    Plain nbgrader runs in the background while --jobs 1 runs (two processes, two cores)."""
    base = synthetic_class(tmp_path / "base", CLASS)
    courses = {w: Path(shutil.copytree(base, tmp_path / w)) for w in ("nbgrader", "jobs1", "jobs2")}
    plain = subprocess.Popen(
        [sys.executable, "-m", "nbgrader", "autograde", CH, "--create",
         f"--Execute.timeout={TIMEOUT}", "--log-level=WARN"],
        cwd=courses["nbgrader"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=tool_env(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1"))
    printed = io.StringIO()
    try:
        report = grade(CH, courses["jobs1"], jobs=1, timeout=TIMEOUT, progress=False,
                       out=printed)
    finally:
        plain_log, _ = plain.communicate(timeout=900)
    cli = subprocess.run([sys.executable, "-m", "tools.grade", CH, "--jobs", "2",
                          "--timeout", str(TIMEOUT), "--root", str(courses["jobs2"])],
                         cwd=ROOT, capture_output=True, text=True, env=tool_env())
    return {"courses": courses, "report": report, "printed": printed.getvalue(),
            "plain": (plain.returncode, plain_log), "cli": cli}


def test_parallel_grading_matches_nbgrader_reports_failures_and_skips_unchanged(tmp_path):
    """One test, so that xdist never grades the class twice on two workers."""
    graded = grade_three_ways(tmp_path)
    check_same_grades(graded)
    check_failure_table(graded)
    check_downstream(graded, tmp_path)
    check_rerun(graded)


def check_same_grades(graded):
    courses = graded["courses"]
    rc, log = graded["plain"]
    assert rc == 1, log[-3000:]  # nbgrader exits 1 after the killed kernel and the bad JSON
    assert "DeadKernelError" in log and "NotJSONError" in log
    ways = {name: gradebook_cells(course) for name, course in courses.items()}
    print("\n" + score_table(ways))
    for name, cells in ways.items():
        scores = {s: {c: cells[s]["grades"][c][0] for c in EXPECTED[s]} for s in CLASS}
        assert scores == EXPECTED, name
        # the hand-graded checkpoint waits for a person, except where it is still the stub
        assert {s: cells[s]["grades"]["checkpoint_latent_diffusion"] for s in CLASS} == {
            s: (0.0, False) if s == "blank" else (None, True) for s in CLASS}, name
    assert ways["jobs1"] == ways["nbgrader"]  # every cell, flag, comment and timestamp
    assert ways["jobs2"] == ways["nbgrader"]
    for course in courses.values():
        assert autograded_students(course) == GRADED


def check_failure_table(graded):
    outcomes = graded["report"].outcomes
    assert {s for s, o in outcomes.items() if o.status == "graded"} == GRADED
    assert "kernel died" in outcomes["killer"].reason
    assert "not valid JSON" in outcomes["broken"].reason
    assert outcomes["looper"].status == "graded"
    assert len(outcomes["looper"].problems) == 1
    assert "answer_q1" in outcomes["looper"].problems[0]
    assert "timed out after 20 s" in outcomes["looper"].problems[0]
    assert not any(outcomes[s].problems or outcomes[s].reason
                   for s in ("solution", "blank", "wrong1", "wrong2"))
    assert "graded 5, failed 2, unchanged 0" in graded["printed"]

    cli = graded["cli"]
    print("\n" + cli.stdout)
    assert cli.returncode == 1, cli.stderr[-3000:]  # some submissions could not be graded
    table = cli.stdout[cli.stdout.index("student  status"):]
    rows = {line.split()[0]: line for line in table.splitlines()[1:] if line[:1].strip()}
    assert set(rows) - {"nbgrader's"} == {"killer", "broken", "looper"}
    assert "failed" in rows["killer"] and "kernel died" in rows["killer"]
    assert "failed" in rows["broken"] and "malformed" in rows["broken"]
    assert "graded" in rows["looper"] and "timed out" in rows["looper"]
    # the progress bar: submissions done / total, failures so far, ETA
    assert "7/7" in cli.stderr and "failures=3" in cli.stderr and "<" in cli.stderr


def check_downstream(graded, tmp_path):
    plain, merged = graded["courses"]["nbgrader"], graded["courses"]["jobs2"]
    view = formgrader_view(merged, tmp_path)
    assert view["autograded"] == GRADED
    assert view == formgrader_view(plain, tmp_path)
    rows = hand_grade_and_export(merged, tmp_path / "merged.csv")
    assert rows == hand_grade_and_export(plain, tmp_path / "plain.csv")
    scores = {r["student_id"]: float(r["score"]) for r in rows}
    assert scores["solution"] == 4.5 and scores["looper"] == 2 and scores["killer"] == 0
    nbgrader(merged, "generate_feedback", CH)
    for student in GRADED:
        html = (merged / "feedback" / student / CH / f"{CH}.html").read_text()
        assert "compression_ratio" in html
    assert not (merged / "feedback" / "killer").exists()


def check_rerun(graded):
    course = graded["courses"]["jobs1"]
    quiet = {"progress": False, "out": io.StringIO(), "timeout": TIMEOUT}
    again = grade(CH, course, jobs=2, **quiet)
    assert not any(o.fresh for o in again.outcomes.values())
    assert {s for s, o in again.outcomes.items() if o.status == "failed"} == {"killer", "broken"}

    # A grader had overridden a score by hand; then the student resubmits a fixed notebook.
    from nbgrader.api import Gradebook

    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.find_grade("test_compression_ratio", CH, CH, "wrong1").manual_score = 1.0
        gb.db.commit()
    submit(course, CH, "wrong1", "solution", timestamp="2026-03-02 09:30:00.000000 UTC")
    changed = grade(CH, course, jobs=2, **quiet)
    assert [s for s, o in changed.outcomes.items() if o.fresh] == ["wrong1"]
    cells = gradebook_cells(course)["wrong1"]
    assert cells["grades"]["test_compression_ratio"] == (2, True)  # new auto score, to review
    assert cells["grades"]["test_answer_q1"] == (1, False)
    assert str(cells["timestamp"]) == "2026-03-02 09:30:00"
    with Gradebook(db) as gb:  # the hand-entered score is kept, as nbgrader autograde keeps it
        assert gb.find_grade("test_compression_ratio", CH, CH, "wrong1").manual_score == 1.0

    forced = grade(CH, course, students=["broken"], force=True, **quiet)
    assert list(forced.outcomes) == ["broken"] and forced.outcomes["broken"].fresh
    assert forced.outcomes["broken"].status == "failed"


def test_a_local_dask_cluster_grades_like_local_processes(tmp_path):
    distributed = pytest.importorskip("distributed")
    students = {s: CLASS[s] for s in ("solution", "wrong2", "killer", "broken")}
    course = synthetic_class(tmp_path / "course", students)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.CRITICAL) as cluster:
        report = grade(CH, course, dask=cluster.scheduler_address, timeout=TIMEOUT,
                       progress=False, out=io.StringIO())
    assert {s: o.status for s, o in report.outcomes.items()} == {
        "solution": "graded", "wrong2": "graded", "killer": "failed", "broken": "failed"}
    assert "kernel died" in report.outcomes["killer"].reason
    cells = gradebook_cells(course)
    assert {s: {c: cells[s]["grades"][c][0] for c in EXPECTED[s]} for s in students} == {
        s: EXPECTED[s] for s in students}
    assert autograded_students(course) == {"solution", "wrong2"}

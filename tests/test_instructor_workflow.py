"""The README's instructor commands, run for real on chapter 0 in a throw-away course:
generate -> release -> (student) fetch, answer, submit -> collect -> autograde ->
hand-grade -> feedback -> export."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools.chapters import ROOT, tool_env
from tools.generate import write_solution

CH = "ch00_latent_spaces"
pytestmark = pytest.mark.grading


def nbgrader(cwd: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd,
                          capture_output=True, text=True,
                          env=tool_env(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1"))
    assert proc.returncode == 0, f"nbgrader {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def test_release_collect_autograde_handgrade_export(tmp_path):
    course, home, exchange = tmp_path / "course", tmp_path / "student", tmp_path / "exchange"
    for folder in (course, home, exchange):
        folder.mkdir()
    exchange.chmod(0o777)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / CH, course / "solutions" / CH)
    write_solution(CH, course)
    x = f"--Exchange.root={exchange}"

    nbgrader(course, "generate_assignment", CH, "--force")
    nbgrader(course, "release_assignment", CH, x)
    nbgrader(home, "fetch_assignment", CH, "--course", "latent-spaces", x)

    # The student answers: a correct function, a wrong quiz option, a written checkpoint.
    path = home / CH / f"{CH}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "compression_ratio":
            cell.source = cell.source.replace(
                "...", "return math.prod(input_shape) / math.prod(latent_shape)")
        elif gid == "answer_q1":
            cell.source = 'answer_q1 = "a"'
        elif gid == "checkpoint_latent_diffusion":
            cell.source = "It is 48x cheaper per step; the VAE limits detail."
    nbformat.write(nb, path)
    nbgrader(home, "submit", CH, "--course", "latent-spaces", x)

    nbgrader(course, "collect", CH, x)
    nbgrader(course, "autograde", CH, "--create")

    from nbgrader.api import Gradebook

    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db) as gb:
        student = gb.students[0].id
        sub = gb.find_submission_notebook(CH, CH, student)
        grades = {g.name: g for g in sub.grades}
        assert grades["test_compression_ratio"].auto_score == 2
        assert grades["test_answer_q1"].auto_score == 0
        assert grades["checkpoint_latent_diffusion"].auto_score is None  # waits for a human
        # Hand-grading, as the formgrader would record it.
        grades["checkpoint_latent_diffusion"].manual_score = 1.5
        gb.db.commit()

    nbgrader(course, "generate_feedback", CH)
    feedback = list((course / "feedback" / student / CH).glob("*.html"))
    assert feedback and "compression_ratio" in feedback[0].read_text()
    nbgrader(course, "export", "--to", str(tmp_path / "grades.csv"))
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert [(r["assignment"], r["student_id"], float(r["score"])) for r in rows] == [
        (CH, student, 3.5)]

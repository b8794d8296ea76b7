"""A synthetic class for one chapter, to test and time the graders on.

make_course(): a course folder (the course's nbgrader_config.py, the chapter's instructor
notebook) whose own gradebook.db holds the generated assignment, as after the README's
`nbgrader generate_assignment`. submit(): a submission in submitted/<student>/<chapter>/, of
one of these kinds:

    solution       the instructor notebook (full marks)
    blank          the untouched release (0)
    wrong<i>       the solution with the i-th wrong version of every graded function of
                   tests/wrong/<chapter>.py swapped in (tools.grading's helpers)
    kills_kernel   the solution whose first answer cell kills its own kernel (SIGKILL)
    loops          the solution whose last answer cell never ends (a per-cell timeout)
    malformed      a notebook file cut short: not valid JSON
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from tools.chapters import ROOT, release_ipynb, solution_ipynb, tool_env
from tools.generate import write_solution
from tools.grading import load_variants, swap_in

KILL_KERNEL = "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGKILL)\n"
# Never ends, but sleeps: it holds no core while the per-cell limit runs out.
ENDLESS_LOOP = "import time\n\nwhile True:\n    time.sleep(0.1)\n"
TIMESTAMP = "2026-03-01 12:00:00.000000 UTC"


def make_course(root: Path, chapter: str) -> Path:
    """A course folder at root with the chapter generated into root/gradebook.db."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / chapter, root / "solutions" / chapter,
                    ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    write_solution(chapter, root)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", chapter,
                           "--force", "--log-level=WARN"], cwd=root, capture_output=True,
                          text=True, env=tool_env())
    if proc.returncode != 0:
        raise RuntimeError(f"generate_assignment {chapter}:\n{proc.stdout}\n{proc.stderr}")
    return root


def _answer_cells(nb) -> list[str]:
    """grade_ids of the autograded answer cells (code, solution, not a test), in order."""
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
            and not c.metadata["nbgrader"].get("grade")]


def _replace(nb, grade_id: str, source: str):
    nb = nbformat.from_dict(nb)  # a copy
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
    return nb


def submission(root: Path, chapter: str, kind: str):
    """The notebook (or, for `malformed`, the text) a student of this kind submits."""
    solution = nbformat.read(solution_ipynb(chapter, root), as_version=4)
    if kind == "solution":
        return solution
    if kind == "blank":
        return nbformat.read(release_ipynb(chapter, root), as_version=4)
    if kind.startswith("wrong"):
        i = int(kind.removeprefix("wrong")) - 1
        chosen = {name: vs[i] for name, vs in load_variants(chapter).items() if i < len(vs)}
        return swap_in(solution, chosen)
    if kind == "kills_kernel":
        return _replace(solution, _answer_cells(solution)[0], KILL_KERNEL)
    if kind == "loops":
        return _replace(solution, _answer_cells(solution)[-1], ENDLESS_LOOP)
    if kind == "malformed":
        return nbformat.writes(solution)[:200]
    raise ValueError(f"unknown kind of submission {kind!r}")


def submit(root: Path, chapter: str, student: str, kind: str,
           timestamp: str = TIMESTAMP) -> Path:
    """Write submitted/<student>/<chapter>/ (the notebook and timestamp.txt)."""
    folder = root / "submitted" / student / chapter
    folder.mkdir(parents=True, exist_ok=True)
    nb = submission(root, chapter, kind)
    path = folder / f"{chapter}.ipynb"
    if isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(nb, path)
    (folder / "timestamp.txt").write_text(timestamp)
    return folder

"""Checker self-test: autograde the solution, the blank release and wrong implementations.

For a chapter, in a throw-away course folder with its own gradebook database:
  * student `solution`: the instructor notebook (must score every autograded point),
  * student `blank`:    the untouched release (must score 0),
  * student `wrong<i>`: the solution with the i-th wrong version of every graded function
                        swapped in (from tests/wrong/<chapter>.py); each swapped exercise
                        must lose its points, the others must keep theirs.
One autograde run grades them all; per-cell scores come from the gradebook.

    python -m tools.grading ch00_latent_spaces     # prints the table
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tools.chapters import ROOT, tool_env
from tools.generate import generate_release, write_solution

WRONG_DIR = ROOT / "tests" / "wrong"


@dataclass
class Variant:
    """One wrong implementation: `target` is the graded name it replaces."""

    target: str
    slug: str
    source: str
    doc: str


@dataclass
class ChapterGrades:
    chapter: str
    exercises: list[str]
    max_points: dict[str, float]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> exercise
    variants: dict[str, dict[str, Variant]] = field(default_factory=dict)  # student -> target


def _variant_name(node) -> str | None:
    """The `<graded name>__<slug>` a top-level node defines, if it defines one."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        name = node.name
    elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        name = node.targets[0].id
    elif isinstance(node, ast.ImportFrom) and len(node.names) == 1 and node.names[0].asname:
        name = node.names[0].asname  # `from lessonlib... import ref as name__imported`
    else:
        return None
    return name if "__" in name.strip("_") else None


def load_variants(chapter: str) -> dict[str, list[Variant]]:
    """Wrong implementations of tests/wrong/<chapter>.py, grouped by graded name, in order.

    A variant is a top-level function, class or assignment named `<graded name>__<slug>`, or
    an import of lessonlib's reference under such a name (`from lessonlib.x import ref as
    <graded name>__imported_reference`): the learner who imports the reference instead of
    writing it.
    """
    path = WRONG_DIR / f"{chapter}.py"
    if not path.exists():
        return {}
    text = path.read_text()
    tree = ast.parse(text)
    imports = "".join(ast.get_source_segment(text, node) + "\n" for node in tree.body
                      if isinstance(node, (ast.Import, ast.ImportFrom))
                      and _variant_name(node) is None)
    grouped: dict[str, list[Variant]] = {}
    for node in tree.body:
        name = _variant_name(node)
        if name is None:
            continue
        target, slug = name.split("__", 1)
        segment = ast.get_source_segment(text, node)
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.decorator_list:
            raise ValueError(f"{name}: decorators are not supported in wrong variants")
        if isinstance(node, ast.ImportFrom):
            imported = node.names[0].name
            segment = segment.replace(f" as {name}", "" if imported == target else f" as {target}")
            doc = f"imports lessonlib's `{imported}` instead of writing {target}"
        else:
            segment = segment.replace(name, target, 1)
            doc = ast.get_docstring(node) if not isinstance(node, ast.Assign) else ""
        grouped.setdefault(target, []).append(Variant(target, slug, imports + segment, doc or ""))
    return grouped


def load_wrong_module(chapter: str):
    """Import tests/wrong/<chapter>.py as a module (for in-process public-check tests)."""
    path = WRONG_DIR / f"{chapter}.py"
    spec = importlib.util.spec_from_file_location(f"wrong_{chapter}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def graded_cells(nb) -> tuple[list[str], dict[str, list[str]], dict[str, float]]:
    """Answer cells (autograded exercises), their test cells, and points per test cell."""
    answers, tests, points = [], {}, {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.cell_type != "code" or not gid:
            continue
        if meta.get("solution") and not meta.get("grade"):
            answers.append(gid)
        elif meta.get("grade") and not meta.get("solution"):
            points[gid] = float(meta.get("points", 0))
    for gid in points:
        owner = next((a for a in answers if gid == f"test_{a}" or gid.startswith(f"test_{a}__")),
                     None)
        if owner is None:
            raise ValueError(f"test cell {gid} matches no answer cell (name it test_<answer>)")
        tests.setdefault(owner, []).append(gid)
    return [a for a in answers if a in tests], tests, points


def swap_in(nb, variants: dict[str, Variant]):
    """A copy of `nb` whose answer cells are replaced by the given wrong versions."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in variants:
            cell.source = variants[gid].source
    missing = set(variants) - {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    if missing:
        raise ValueError(f"no answer cell for {sorted(missing)}")
    return nb


def grade_chapter(chapter: str, workdir: Path | None = None) -> ChapterGrades:
    """Build the course copy, autograde every student, and return per-exercise scores."""
    own_tmp = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix=f"grade-{chapter}-")) if own_tmp else workdir
    try:
        return _grade(chapter, workdir)
    finally:
        if own_tmp:
            shutil.rmtree(workdir, ignore_errors=True)


def _grade(chapter: str, root: Path) -> ChapterGrades:
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / chapter, root / "solutions" / chapter)
    write_solution(chapter, root)
    db_dir = root / "db"
    db_dir.mkdir()
    release = nbformat.read(generate_release(chapter, root, db_dir), as_version=4)
    solution = nbformat.read(root / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)
    exercises, tests, points = graded_cells(solution)
    grades = ChapterGrades(chapter, exercises,
                           {ex: sum(points[t] for t in tests[ex]) for ex in exercises})
    submissions = {"solution": solution, "blank": release}
    variants = load_variants(chapter)
    depth = max((len(v) for v in variants.values()), default=0)
    for i in range(depth):
        chosen = {name: vs[i] for name, vs in variants.items() if i < len(vs)}
        student = f"wrong{i + 1}"
        grades.variants[student] = chosen
        submissions[student] = swap_in(solution, chosen)
    for student, nb in submissions.items():
        folder = root / "submitted" / student / chapter
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{chapter}.ipynb")
    cmd = [sys.executable, "-m", "nbgrader", "autograde", chapter, "--create", "--force",
           "--log-level=WARN", f"--CourseDirectory.root={root}",
           f"--db=sqlite:///{db_dir / 'gradebook.db'}"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True,
                          env=tool_env(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1"))
    if proc.returncode != 0:
        raise RuntimeError(f"autograde failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db_dir / 'gradebook.db'}") as gb:
        for student in submissions:
            nb_sub = gb.find_submission_notebook(chapter, chapter, student)
            by_cell = {g.name: (g.score or 0.0) for g in nb_sub.grades if g.auto_score is not None}
            grades.scores[student] = {ex: sum(by_cell.get(t, 0.0) for t in tests[ex])
                                      for ex in exercises}
    return grades


def table(grades: ChapterGrades) -> str:
    """The self-test table: chapter, exercise, solution, blank, each wrong version's score."""
    wrong = [s for s in grades.scores if s.startswith("wrong")]
    lines = [f"{'chapter':20s} {'exercise':24s} {'solution':>8s} {'blank':>6s}  wrong versions"]
    for ex in grades.exercises:
        top = grades.max_points[ex]
        cells = []
        for student in wrong:
            variant = grades.variants[student].get(ex)
            if variant is not None:
                cells.append(f"{variant.slug} {grades.scores[student][ex]:g}/{top:g}")
        lines.append(f"{grades.chapter:20s} {ex:24s} {grades.scores['solution'][ex]:>5g}/{top:<2g} "
                     f"{grades.scores['blank'][ex]:>3g}/{top:<2g}  " + "; ".join(cells))
    return "\n".join(lines)


if __name__ == "__main__":
    for ch in sys.argv[1:]:
        print(table(grade_chapter(ch)))

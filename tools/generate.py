"""Regenerate the student notebooks: solutions/*.py -> solutions/*.ipynb -> notebooks/.

    python3 course.py generate            # every chapter
    python3 course.py generate ch00_latent_spaces
    python3 course.py generate --draft ch09_in_the_wild   # a new {{figure}} not measured yet:
        # written as a marker; run `course.py bench ch09_in_the_wild`, then generate again

Step 1 (jupytext): the py:percent source becomes the paired instructor notebook, outputs
empty. Step 2 (nbgrader generate_assignment --force): the release in notebooks/, with
solutions replaced by stubs, hidden tests removed, notebook metadata stripped. nbgrader's
gradebook goes to a throw-away database, never into the repository.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

from tools.chapters import ROOT, chapters, release_ipynb, solution_ipynb, source_py, tool_env

# Layout hints jupytext keeps for a faithful round trip; meaningless in the notebooks.
JUPYTEXT_CELL_KEYS = ("lines_to_next_cell", "lines_to_end_of_cell_marker", "cell_marker")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
TEMPLATES = Path(__file__).resolve().parent / "templates"
HOW_IT_WORKS = (TEMPLATES / "how_this_notebook_works.md").read_text().strip()
SETUP_CELL = (TEMPLATES / "setup_cell.py").read_text().strip()
MODEL_ANSWER_TAG = "model_answer"  # explanation cells removed from releases (nbgrader_config)


RESULTS_FULL = ROOT / "results" / "full"
# A measured figure in prose: {{name}}, {{name:.1f}}, {{beta_sweep/1/neg_elbo:.1f}}, or another
# chapter's {{ch05_vq_vae@psnr:.1f}}; filled from results/full/<chapter>.json at generation.
FIGURE = re.compile(r"\{\{\s*(?:(ch\d\d_\w+)@)?([\w./-]+?)\s*(?::([^}]*))?\}\}")


class MissingFigure(KeyError):
    """A {{figure}} in the prose that the recorded full run does not have."""


def figure_value(chapter: str, path: str, results_dir: Path = RESULTS_FULL):
    """The recorded value at `path` ("a/b/c") in results/full/<chapter>.json."""
    file = results_dir / f"{chapter}.json"
    value = json.loads(file.read_text()) if file.exists() else {}
    for part in path.split("/"):
        if not isinstance(value, dict) or part not in value:
            raise MissingFigure(f"{chapter}: {path!r} is not in {file} "
                                "(run `python3 course.py bench <chapter>` first)")
        value = value[part]
    return value


# `generate --draft`: a figure the full run has not recorded yet is written as a visible
# marker instead of stopping generation, so that a chapter with a new figure can be run by
# the benchmark that records it. tests/test_figures.py keeps drafts out of the course.
DRAFT = {"on": False}
DRAFT_MARK = "[not measured yet: {}]"


def fill_figures(text: str, chapter: str, results_dir: Path = RESULTS_FULL) -> str:
    """Replace every {{figure}} of `text` with the value the full run recorded."""

    def value_of(m: re.Match) -> str:
        try:
            value = figure_value(m.group(1) or chapter, m.group(2), results_dir)
        except MissingFigure:
            if DRAFT["on"]:
                return DRAFT_MARK.format(m.group(2))
            raise
        if m.group(3):
            return format(value, m.group(3))
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    return FIGURE.sub(value_of, text)


def model_answer_key(cell) -> str | None:
    """The key of a cell whose content a learner may reveal after an attempt: the grade_id
    of a manually graded answer cell, or the `model_answer` metadata of an explanation."""
    meta = cell.metadata.get("nbgrader", {})
    if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
        return meta["grade_id"]
    return cell.metadata.get(MODEL_ANSWER_TAG)


def reveal_cell(key: str, chapter: str) -> nbformat.NotebookNode:
    """The code cell under a model answer: a button that shows it after the attempt."""
    cell = nbformat.v4.new_code_cell(
        "from lessonlib.views.model_answer import show_model_answer\n\n"
        f'show_model_answer("{key}", "{chapter}")')
    cell["id"] = f"reveal-{key}"
    return cell


def with_course_cells(cells: list, chapter: str) -> list:
    """The chapter's cells plus what every chapter shares: the "How this notebook works"
    text after the title, the set-up cell (installs the course package when a notebook is
    opened on its own, e.g. on Colab), and a reveal button under every model answer."""
    intro = nbformat.v4.new_markdown_cell(HOW_IT_WORKS)
    intro["id"] = "how-this-notebook-works"
    setup = nbformat.v4.new_code_cell(SETUP_CELL)
    setup["id"] = "setup-course"
    out = [cells[0], intro, setup]
    for cell in cells[1:]:
        out.append(cell)
        key = model_answer_key(cell)
        if key is None:
            continue
        if cell.metadata.get(MODEL_ANSWER_TAG):
            tags = cell.metadata.setdefault("tags", [])
            if MODEL_ANSWER_TAG not in tags:
                tags.append(MODEL_ANSWER_TAG)
        out.append(reveal_cell(key, chapter))
    return out


def notebook_from_source(py_path: Path) -> nbformat.NotebookNode:
    """Read the jupytext source into a notebook with no outputs and a python3 kernel, plus
    the cells every chapter shares (with_course_cells)."""
    nb = jupytext.read(py_path)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in JUPYTEXT_CELL_KEYS:
            cell.metadata.pop(key, None)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell["id"] = grade_id or f"cell-{i:03d}"
        if cell.cell_type == "markdown":
            cell.source = fill_figures(cell.source, py_path.stem)
    nb.cells = with_course_cells(nb.cells, py_path.stem)
    return nbformat.v4.upgrade(nb) if nb.nbformat < 4 else nb


def write_solution(chapter: str, root: Path = ROOT) -> Path:
    """Write solutions/<ch>/<ch>.ipynb from its .py source (deterministic)."""
    nb = notebook_from_source(source_py(chapter, root))
    out = solution_ipynb(chapter, root)
    nbformat.write(nb, out)
    return out


def generate_release(chapter: str, course_root: Path, db_dir: Path) -> Path:
    """Run nbgrader generate_assignment for one chapter of the course at course_root."""
    cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", chapter, "--force",
           "--log-level=WARN", f"--CourseDirectory.root={course_root}",
           f"--db=sqlite:///{db_dir / 'gradebook.db'}"]
    proc = subprocess.run(cmd, cwd=course_root, capture_output=True, text=True, env=tool_env())
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {chapter} failed:\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return release_ipynb(chapter, course_root)


def generate_into(course_root: Path, chapter_ids: list[str]) -> None:
    """Generate releases inside an existing course folder (solutions/ + nbgrader_config.py)."""
    with tempfile.TemporaryDirectory() as tmp:
        for chapter in chapter_ids:
            generate_release(chapter, course_root, Path(tmp))


def fresh_release(chapter: str, workdir: Path) -> Path:
    """Generate one chapter's release in a scratch copy of the course; return its path."""
    shutil.copy(ROOT / "nbgrader_config.py", workdir / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / chapter, workdir / "solutions" / chapter)
    write_solution(chapter, workdir)
    generate_into(workdir, [chapter])
    return release_ipynb(chapter, workdir)


CATALOG = ROOT / "lessonlib" / "checks" / "catalog.json"
QUESTION = re.compile(r'question="([^"]+)"')


def exercises(chapter: str, root: Path = ROOT) -> list[dict]:
    """The graded exercises of a chapter, in order: what its score card lists.

    name is what the progress file records: the public check's name for a function
    ("kl_standard_normal"), "quiz <question>" for a multiple choice ("quiz ch03/q1"), and the
    grade_id of a written (hand-graded) answer."""
    cells = jupytext.read(source_py(chapter, root)).cells
    points: dict[str, float] = {}
    questions: dict[str, str] = {}
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            owner = meta["grade_id"].removeprefix("test_").split("__")[0]
            points[owner] = points.get(owner, 0.0) + float(meta.get("points", 0))
            if (m := QUESTION.search(cell.source)):
                questions[owner] = m.group(1)
    found = []
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if not gid or not meta.get("solution"):
            continue
        if cell.cell_type == "markdown":
            found.append({"name": gid, "grade_id": gid, "kind": "written",
                          "points": float(meta.get("points", 0))})
        elif gid in points:
            quiz = gid in questions
            found.append({"name": f"quiz {questions[gid]}" if quiz else gid, "grade_id": gid,
                          "kind": "quiz" if quiz else "build", "points": points[gid]})
    return found


def catalog_text(root: Path = ROOT) -> str:
    """The catalog of every chapter's exercises (lessonlib/checks/catalog.json)."""
    return json.dumps({c: exercises(c, root) for c in chapters()}, indent=1) + "\n"


def main(argv: list[str]) -> int:
    DRAFT["on"] = "--draft" in argv
    wanted = [a for a in argv if a != "--draft"] or chapters()
    CATALOG.write_text(catalog_text())
    for chapter in wanted:
        write_solution(chapter)
    generate_into(ROOT, wanted)
    for chapter in wanted:
        print(f"{chapter}: {release_ipynb(chapter).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

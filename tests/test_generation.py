"""Student notebooks are generated, in sync, and leak nothing."""

from __future__ import annotations

import ast
import json
import re

import jupytext
import nbformat
import pytest

from tools.chapters import RELEASES, ROOT, SOLUTIONS, release_ipynb, solution_ipynb, source_py
from tools.generate import fresh_release, notebook_from_source

SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME")


def _cells(nb):
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]


def test_every_chapter_has_a_release(all_chapters):
    assert all_chapters, "no chapters found in solutions/"
    released = sorted(p.name for p in RELEASES.iterdir() if p.is_dir())
    assert released == all_chapters


def test_solution_notebook_in_sync_with_source(chapter):
    """The .ipynb in solutions/ is exactly what jupytext makes of the .py (no outputs)."""
    expected = notebook_from_source(source_py(chapter))
    actual = nbformat.read(solution_ipynb(chapter), as_version=4)
    assert _cells(actual) == _cells(expected), (
        f"{solution_ipynb(chapter)} is out of sync with its .py: run python3 course.py generate")
    for cell in actual.cells:
        assert not cell.get("outputs"), "solution notebooks are committed without outputs"


@pytest.mark.slow  # runs nbgrader generate_assignment
def test_release_matches_fresh_generation(chapter, tmp_path):
    """notebooks/ is exactly what nbgrader generates from solutions/ now."""
    fresh = json.loads(fresh_release(chapter, tmp_path).read_text())
    committed = json.loads(release_ipynb(chapter).read_text())
    assert committed == fresh, (
        f"{release_ipynb(chapter)} differs from a fresh generation: run python3 course.py generate")


def test_release_leaks_no_solution_or_hidden_test(chapter):
    text = release_ipynb(chapter).read_text()
    release = nbformat.read(release_ipynb(chapter), as_version=4)
    for marker in MARKERS:
        assert marker not in text, f"{marker} found in the release"
    release_code = "\n".join(c.source for c in release.cells)
    source = source_py(chapter).read_text()
    for region in SOLUTION_REGION.findall(source) + HIDDEN_REGION.findall(source):
        for line in region.splitlines():
            line = line.strip().lstrip("# ").strip()
            if len(line) >= 25:  # distinctive lines only (not `return x`)
                assert line not in release_code, f"solution/hidden text leaked: {line!r}"


def test_release_folder_holds_only_the_notebook(chapter):
    files = sorted(p.name for p in (RELEASES / chapter).rglob("*") if p.is_file())
    assert files == [f"{chapter}.ipynb"], f"unexpected files in the release: {files}"


def test_release_metadata_stripped(chapter):
    nb = json.loads(release_ipynb(chapter).read_text())
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}, nb["metadata"].keys()
    for cell in nb["cells"]:
        assert set(cell["metadata"]) <= {"nbgrader", "tags", "editable", "deletable"}, (
            cell["metadata"])


def test_cell_metadata_is_consistent(chapter):
    """grade_ids unique; graded cells carry points; test cells locked; one parameters cell."""
    nb = jupytext.read(source_py(chapter))
    seen, params = set(), 0
    for cell in nb.cells:
        params += "parameters" in cell.metadata.get("tags", [])
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        assert meta["schema_version"] == 3
        gid = meta["grade_id"]
        assert gid not in seen, f"duplicate grade_id {gid}"
        seen.add(gid)
        if meta.get("grade"):
            assert float(meta["points"]) > 0, f"{gid} has no points"
        if meta.get("grade") and not meta.get("solution"):
            assert meta["locked"], f"test cell {gid} must be locked"
            assert "BEGIN HIDDEN TESTS" in cell.source, f"test cell {gid} has no hidden tests"
            last = ast.parse(cell.source).body[-1]
            assert isinstance(last, ast.Assert), (
                f"test cell {gid} must end with an assert (a bare value is a partial score)")
    assert params == 1, "exactly one cell tagged `parameters`"


def test_no_stray_sources_in_solutions():
    for folder in SOLUTIONS.iterdir():
        if folder.is_dir():
            names = sorted(p.name for p in folder.iterdir() if p.name != ".ipynb_checkpoints")
            assert names == [f"{folder.name}.ipynb", f"{folder.name}.py"], names


@pytest.mark.parametrize("path", sorted(ROOT.glob("solutions/*/*.ipynb")), ids=lambda p: p.stem)
def test_solution_notebooks_carry_no_outputs(path):
    assert '"output_type"' not in path.read_text()

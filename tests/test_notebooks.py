"""Every chapter executes headlessly, each notebook once, each run with its own job:
papermill runs the solution in fast mode (no error, checks pass, figures recorded, widgets
render-checked); nbval runs the untouched student release (Run All reaches the end and
every self-check says "not attempted")."""

from __future__ import annotations

import re

import jupytext
import pytest

from tests.conftest import write_report
from tools.chapters import release_ipynb, solution_ipynb, source_py
from tools.execute import execute, execute_nbval

pytestmark = pytest.mark.notebook

WIDGET_CALL = re.compile(r'name="([a-z0-9_]+)", chapter=CHAPTER')


def _declared_widgets(chapter: str) -> set[str]:
    return set(WIDGET_CALL.findall(source_py(chapter).read_text()))


def _answer_names(chapter: str) -> list[str]:
    nb = jupytext.read(source_py(chapter))
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")
            and not c.metadata["nbgrader"].get("grade") and c.cell_type == "code"]


def test_solution_executes_in_fast_mode(chapter, tmp_path):
    """papermill, FAST=True: no error, results recorded, every widget rendered at extremes."""
    run = execute(solution_ipynb(chapter), tmp_path / "out.ipynb", fast=True,
                  results_dir=tmp_path / "results", threads=1)
    assert run.ok, run.report()
    text = run.stdout_text()
    assert "[x]" not in text and "NOT ATTEMPTED" not in text, (
        "a public check did not pass on the solution:\n" + text[-3000:])
    assert "lessonlib's reference" not in text, "the solution should use its own functions"
    renders = {k.split("/", 1)[1] for k in run.results if k.startswith("render/")}
    assert renders == _declared_widgets(chapter), "every interactive must be render-checked"
    for name in renders:
        assert run.results[f"render/{name}"]["calls"] >= 2
    metrics = [k for k in run.results if not k.startswith("render/")]
    assert metrics, "the notebook records its headline figures"
    write_report("execution", chapter,
                 f"{'notebook':24s} {'fast s':>7s} {'widgets':>8s} {'max render ms':>14s}\n"
                 f"{chapter:24s} {run.seconds:7.1f} {len(renders):8d} "
                 f"{max([run.results[f'render/{n}']['max_ms'] for n in renders], default=0):14.0f}")


def test_untouched_release_runs_to_the_end(chapter, tmp_path):
    """nbval, fast mode: a learner pressing Run All on the fresh release reaches the end,
    and every self-check answers "not attempted" (demos fall back to the reference)."""
    run = execute_nbval(release_ipynb(chapter), tmp_path / "outputs.json",
                        results_dir=tmp_path / "results", threads=1)
    assert run.ok, run.report()
    write_report("release", chapter, f"{'notebook':24s} {'nbval s':>7s} {'cells':>8s}\n"
                 f"{chapter:24s} {run.seconds:7.1f} {len(run.cells()):8d}")
    text = run.stdout_text()
    for name in _answer_names(chapter):
        label = f"quiz {chapter[:4]}" if name.startswith("answer_q") else name
        assert f"{label}" in text, f"no self-check output for {name}"
    assert text.count("NOT ATTEMPTED") >= len(_answer_names(chapter)), text[-2000:]
    assert "[ok]" not in text, "an unanswered exercise must not pass its checks"
    if any(not n.startswith("answer_q") for n in _answer_names(chapter)):
        assert "lessonlib's reference" in text, "demos should fall back to the reference"

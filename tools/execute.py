"""Execute a chapter notebook headlessly and read back what it printed and recorded.

Two executors, one job each:
- `execute`: papermill with the FAST parameter, writing an output notebook. The solution
  runs this way in the tests (fast mode, widgets render-checked), in `course.py results`
  and in the benchmark.
- `execute_nbval`: `pytest --nbval-lax` (fast mode through LESSONLIB_FAST), which runs each
  code cell as a test item. The untouched student release runs this way in the tests: a
  learner pressing Run All must reach the end. tools.cell_outputs saves what each cell
  printed, so the test can read the self-check verdicts.

Both return a Run: returncode, wall seconds, log, the figures the notebook recorded
(lessonlib.core.results), and the printed text and errors of its cells.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tools.chapters import ROOT, tool_env


@dataclass
class Run:
    """One headless execution of a notebook."""

    notebook: Path
    seconds: float
    returncode: int
    log: str
    results: dict

    def cells(self) -> list[dict] | None:
        """Executed code cells as {"source", "outputs"} (nbformat outputs); None if unknown."""
        raise NotImplementedError

    def cell_errors(self) -> list[str]:
        """Error outputs of the executed cells (or why no cell outputs exist)."""
        cells = self.cells()
        if cells is None:
            return [f"no cell outputs were saved; the executor said:\n{self.log[-3000:]}"]
        errors = []
        for cell in cells:
            for out in cell["outputs"]:
                if out.get("output_type") == "error":
                    errors.append(f"{out['ename']}: {out['evalue']}\n--- in cell:\n"
                                  f"{_text(cell['source'])[:800]}")
        return errors

    def stdout_text(self) -> str:
        """All stream text the cells printed."""
        return "".join(_text(out["text"]) for cell in self.cells() or []
                       for out in cell["outputs"] if out.get("output_type") == "stream")

    @property
    def ok(self) -> bool:
        """The executor succeeded and no cell raised."""
        return self.returncode == 0 and not self.cell_errors()

    def report(self) -> str:
        """Why the run failed: the cell errors, else the end of the executor's log."""
        return "\n".join(self.cell_errors()) or self.log[-4000:]


@dataclass
class Execution(Run):
    """A papermill run; `output` is the executed notebook."""

    output: Path

    def cells(self) -> list[dict] | None:
        if not self.output.exists():
            return None
        nb = json.loads(self.output.read_text())
        return [c for c in nb["cells"] if c["cell_type"] == "code"]


@dataclass
class NbvalRun(Run):
    """An nbval run; `outputs_file` is what tools.cell_outputs saved."""

    outputs_file: Path

    def cells(self) -> list[dict] | None:
        if not self.outputs_file.exists():
            return None
        return json.loads(self.outputs_file.read_text())


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


@functools.cache
def _progress_dir() -> Path:
    """A throw-away folder for this process's progress file, removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="course-run-progress-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _env(results_dir: Path, threads: int | None, **extra: str) -> dict[str, str]:
    env = {**tool_env(), "LESSONLIB_RESULTS_DIR": str(results_dir), "MPLBACKEND": "Agg",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           # headless runs keep the learner's progress file (the score card) untouched
           "LESSONLIB_PROGRESS": str(_progress_dir() / "progress.json"), **extra}
    env.pop("NBGRADER_EXECUTION", None)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
        env["MKL_NUM_THREADS"] = str(threads)
    return env


def _recorded(notebook: Path, results_dir: Path) -> dict:
    path = results_dir / f"{notebook.stem}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def execute(notebook: Path, output: Path, *, fast: bool, results_dir: Path,
            render_check: bool = True, render_repeat: int = 1, threads: int | None = None,
            timeout: int = 900) -> Execution:
    """Run `notebook` with papermill (FAST parameter), cwd = its folder; return an Execution."""
    output.parent.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    env = _env(results_dir, threads, LESSONLIB_RENDER_CHECK="1" if render_check else "0",
               LESSONLIB_RENDER_REPEAT=str(render_repeat))
    env.pop("LESSONLIB_FAST", None)  # the FAST parameter decides
    cmd = [sys.executable, "-m", "papermill", str(notebook), str(output),
           "-p", "FAST", str(fast), "--kernel", "python3", "--cwd", str(notebook.parent),
           "--no-progress-bar", "--execution-timeout", str(timeout)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    results = _recorded(notebook, results_dir)
    if proc.returncode == 0:  # the headless wall time is a headline figure too
        results["execution_seconds"] = round(seconds, 1)
        (results_dir / f"{notebook.stem}.json").write_text(
            json.dumps(results, indent=1, sort_keys=True))
    return Execution(notebook=notebook, seconds=seconds, returncode=proc.returncode,
                     log=proc.stdout + proc.stderr, results=results, output=output)


def execute_nbval(notebook: Path, outputs_file: Path, *, results_dir: Path,
                  threads: int | None = None, timeout: int = 900) -> NbvalRun:
    """Run `notebook` cell by cell with `pytest --nbval-lax` in fast mode, kernel cwd = its
    folder, stopping at the first failing cell; save the cell outputs to `outputs_file`."""
    outputs_file.parent.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    env = _env(results_dir, threads, LESSONLIB_FAST="1", LESSONLIB_RENDER_CHECK="0")
    cmd = [sys.executable, "-m", "pytest", str(notebook), "--nbval-lax", "--nbval-current-env",
           "--nbval-cell-timeout", str(timeout), "-x", "-q", "-p", "no:xdist",
           "-p", "no:cacheprovider", "-p", "tools.cell_outputs",
           f"--cell-outputs={outputs_file}",
           # the notebook's folder as rootdir, no config file: none of the course's pytest
           # options (testpaths, xdist, markers) apply inside this run
           "--rootdir", str(notebook.parent), "-c", os.devnull]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return NbvalRun(notebook=notebook, seconds=seconds, returncode=proc.returncode,
                    log=proc.stdout + proc.stderr, results=_recorded(notebook, results_dir),
                    outputs_file=outputs_file)

"""Execute a chapter notebook headlessly with papermill and collect what it recorded.

Used by the tests (fast mode), `python3 course.py results` and the benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools.chapters import tool_env


@dataclass
class Execution:
    notebook: Path
    output: Path
    seconds: float
    returncode: int
    log: str
    results: dict

    def cell_errors(self) -> list[str]:
        """Error outputs found in the executed notebook."""
        if not self.output.exists():
            return [f"no output notebook; papermill said:\n{self.log[-3000:]}"]
        nb = json.loads(self.output.read_text())
        errors = []
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    errors.append(f"{out['ename']}: {out['evalue']}\n--- in cell:\n"
                                  f"{''.join(cell['source'])[:800]}")
        return errors

    def stdout_text(self) -> str:
        """All stream text the notebook printed."""
        nb = json.loads(self.output.read_text())
        chunks = []
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream":
                    chunks.append("".join(out["text"]))
        return "".join(chunks)


def execute(notebook: Path, output: Path, *, fast: bool, results_dir: Path,
            render_check: bool = True, render_repeat: int = 1, threads: int | None = None,
            timeout: int = 900) -> Execution:
    """Run `notebook` with papermill (FAST parameter), cwd = its folder; return an Execution."""
    output.parent.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    env = {**tool_env(), "LESSONLIB_RESULTS_DIR": str(results_dir), "MPLBACKEND": "Agg",
           "LESSONLIB_RENDER_CHECK": "1" if render_check else "0",
           "LESSONLIB_RENDER_REPEAT": str(render_repeat), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    env.pop("NBGRADER_EXECUTION", None)
    env.pop("LESSONLIB_FAST", None)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
        env["MKL_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, "-m", "papermill", str(notebook), str(output),
           "-p", "FAST", str(fast), "--kernel", "python3", "--cwd", str(notebook.parent),
           "--no-progress-bar", "--execution-timeout", str(timeout)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    chapter = notebook.stem
    path = results_dir / f"{chapter}.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    if proc.returncode == 0:  # the headless wall time is a headline figure too
        results["execution_seconds"] = round(seconds, 1)
        path.write_text(json.dumps(results, indent=1, sort_keys=True))
    return Execution(notebook, output, seconds, proc.returncode,
                     proc.stdout + proc.stderr, results)

"""A pytest plugin for nbval runs: save what every notebook cell printed.

nbval executes a notebook one cell per test item but keeps the outputs to itself. Loaded
with `-p tools.cell_outputs --cell-outputs=PATH`, this plugin writes them to PATH as JSON,
one record per executed code cell, in nbformat's output shape:

    [{"source": "...", "outputs": [{"output_type": "stream", "name": "stdout",
                                    "text": "..."}, {"output_type": "error", ...}]}, ...]

so that tools.execute can read an nbval run like a papermill output notebook.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

KEPT = {"stream": ("name", "text"), "error": ("ename", "evalue")}
_RECORDS = pytest.StashKey[list]()


def pytest_addoption(parser):
    parser.addoption("--cell-outputs", default=None, metavar="PATH",
                     help="write each executed cell's stream and error outputs to PATH (JSON)")


def _record(item) -> dict | None:
    outputs = getattr(item, "test_outputs", None)
    if outputs is None:  # not an nbval cell, or skipped before it ran
        return None
    kept = [{"output_type": out["output_type"], **{k: out.get(k) for k in KEPT[out["output_type"]]}}
            for out in outputs if out.get("output_type") in KEPT]
    return {"source": item.cell.source, "outputs": kept}


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    record = _record(item)
    if record is not None:
        item.config.stash.setdefault(_RECORDS, []).append(record)


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("cell_outputs")
    if path:
        Path(path).write_text(json.dumps(session.config.stash.get(_RECORDS, []), indent=1))


"""Headline figures of a notebook run (metrics, timings), kept machine-readable.

`record(chapter, name, value)` always remembers the value in memory; when the environment
variable LESSONLIB_RESULTS_DIR is set (headless runs: papermill, tests, benchmarks) it also
writes `<dir>/<chapter>.json`, merged with what the run recorded before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

_MEMORY: dict[str, dict[str, object]] = {}


def _plain(value):
    """JSON-friendly version of a number, tensor or nested structure."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def record(chapter: str, name: str, value) -> None:
    """Remember one headline figure of `chapter` (and write it out when headless)."""
    _MEMORY.setdefault(chapter, {})[name] = _plain(value)
    out_dir = os.environ.get("LESSONLIB_RESULTS_DIR")
    if not out_dir:
        return
    path = Path(out_dir) / f"{chapter}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    current[name] = _MEMORY[chapter][name]
    path.write_text(json.dumps(current, indent=1, sort_keys=True))


def recorded(chapter: str) -> dict[str, object]:
    """What this process recorded for `chapter` so far."""
    return dict(_MEMORY.get(chapter, {}))


def load_dir(directory: str | Path) -> dict[str, dict[str, object]]:
    """All chapter result files (chNN_name.json) of a directory, keyed by chapter."""
    return {p.stem: json.loads(p.read_text())
            for p in sorted(Path(directory).glob("ch[0-9][0-9]_*.json"))}

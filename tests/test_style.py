"""The code style gate: ruff (configured in pyproject.toml) finds nothing."""

from __future__ import annotations

import subprocess
import sys

from tools.chapters import ROOT


def test_ruff_is_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]

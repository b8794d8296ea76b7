"""Run mode: full (a learner's run), or fast (CI, papermill, nbgrader autograding).

A notebook's `parameters` cell sets FAST = False; papermill injects FAST = True, and the
environment can force fast mode too: LESSONLIB_FAST=1 (nbval, tests) or NBGRADER_EXECUTION
(set by nbgrader while it autogrades or validates a submission).
"""

from __future__ import annotations

import os


def is_grading() -> bool:
    """True while nbgrader executes the notebook (autograde or validate)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def is_fast(requested: bool = False) -> bool:
    """Fast mode if requested by the notebook's parameters or forced by the environment."""
    forced = os.environ.get("LESSONLIB_FAST", "").strip().lower() in {"1", "true", "yes"}
    return bool(requested) or forced or is_grading()


def pick(full, fast, *, fast_mode: bool):
    """Return `fast` in fast mode, else `full` (a size, a step count, a list of settings)."""
    return fast if fast_mode else full

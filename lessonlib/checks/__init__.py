"""Public self-checks, one module per concept; each check is a PublicCheck object."""

from lessonlib.checks.core import (
    CheckResult,
    NotAttempted,
    PublicCheck,
    Wrong,
    attempt,
    close,
    expect,
    expect_tensor,
    given,
    public_check,
)
from lessonlib.checks.quiz import answer_key, check_choice

__all__ = [
    "CheckResult", "NotAttempted", "PublicCheck", "Wrong", "attempt", "close", "expect",
    "expect_tensor", "given", "public_check", "answer_key", "check_choice",
]

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
    fail,
    given,
    public_check,
    raised_in_learner_code,
    reject_slips,
)
from lessonlib.checks.quiz import answer_key, check_choice

__all__ = [
    "CheckResult", "NotAttempted", "PublicCheck", "Wrong", "attempt", "close", "expect",
    "expect_tensor", "fail", "given", "public_check", "raised_in_learner_code",
    "reject_slips", "answer_key", "check_choice",
]

"""Multiple-choice questions: checked against a salted hash, so the key is not in plain sight.

The public check says whether the chosen option is the best one and never names the right
option; the hidden test in the graded notebook compares the answer itself.
"""

from __future__ import annotations

import hashlib

from lessonlib.checks.core import PASSED, WRONG, NotAttempted, PublicCheck, Wrong


def answer_key(question: str, choice: str) -> str:
    """The salted hash of one option of a question (what a notebook stores as `key`)."""
    text = f"{question.strip()}|{str(choice).strip().lower()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_choice(answer, *, question: str, key: str, options: str = "abcd",
                 hint: str = "") -> object:
    """Check a multiple-choice answer without revealing the right option."""

    def probe(value):
        if value is None or value is Ellipsis:
            raise NotAttempted(f'set your answer to one of {", ".join(options)}.')
        choice = str(value).strip().lower()
        if choice not in options:
            raise Wrong(f"{value!r} is not an option: choose one of {', '.join(options)}.")
        if answer_key(question, choice) != key:
            raise Wrong(f"({choice}) is not the best answer. {hint}".strip())

    return PublicCheck(f"quiz {question}", probe)(answer)


__all__ = ["answer_key", "check_choice", "PASSED", "WRONG"]

"""Self-check machinery: three states, a message that names the likely mistake, a fallback.

A public check is a probe function wrapped by `public_check`. The probe receives the
learner's object (a function, a class, a value), calls it through `attempt`, and raises
`Wrong("...likely mistake...")` through `expect` when something is off. Calling the check
prints one of three states and returns a CheckResult:

    not attempted   the stub is still there (returns None / raises NotImplementedError)
    wrong           a probe failed; the message names the likely mistake
    passed          every public check passed (hidden tests may probe more)

While nbgrader grades (NBGRADER_EXECUTION is set) a check that did not pass also raises
AssertionError, so the test cell scores 0. Outside grading it never raises: an untouched
notebook runs from top to bottom.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from lessonlib.runmode import is_grading

NOT_ATTEMPTED, WRONG, PASSED = "not attempted", "wrong", "passed"
_ICONS = {NOT_ATTEMPTED: "[ ]", WRONG: "[x]", PASSED: "[ok]"}


class NotAttempted(Exception):
    """The learner has not written this yet."""


class Wrong(Exception):
    """A public probe failed; the message names the likely mistake."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        return f"{_ICONS[self.status]} {self.name}: {self.status.upper()}. {self.message}"


def attempt(fn: Callable, *args, **kwargs):
    """Call the learner's code; a stub (None result, NotImplementedError) means not attempted."""
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError as err:
        raise NotAttempted("it still raises NotImplementedError.") from err
    if out is None:
        raise NotAttempted(
            "it returns None: write your code where it says YOUR CODE HERE "
            "(or add the missing `return`)."
        )
    return out


def given(value, what: str):
    """A learner-assigned value; None or Ellipsis means not attempted."""
    if value is None or value is Ellipsis:
        raise NotAttempted(f"{what} is still None: assign your answer.")
    return value


def expect(condition: bool, message: str) -> None:
    """Raise Wrong(message) unless condition holds."""
    if not bool(condition):
        raise Wrong(message)


def close(a, b, tol: float = 1e-5) -> bool:
    """True if two numbers or tensors agree to `tol` (absolute and relative)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        a_t = torch.as_tensor(a, dtype=torch.float64)
        b_t = torch.as_tensor(b, dtype=torch.float64)
        return a_t.shape == b_t.shape and torch.allclose(a_t, b_t, atol=tol, rtol=tol)
    return math.isclose(float(a), float(b), abs_tol=tol, rel_tol=tol)


def expect_tensor(out, shape: tuple[int, ...], what: str) -> torch.Tensor:
    """The output must be a tensor of the given shape."""
    expect(isinstance(out, torch.Tensor),
           f"{what} should be a torch.Tensor, got {type(out).__name__}.")
    expect(tuple(out.shape) == tuple(shape),
           f"{what} should have shape {list(shape)}, got {list(out.shape)}.")
    return out


class PublicCheck:
    """A named public check with its probe and lessonlib's reference implementation."""

    def __init__(self, name: str, probe: Callable, reference=None):
        self.name = name
        self.probe = probe
        self.reference = reference

    def run(self, obj) -> CheckResult:
        """Run the probe on `obj` and return the result, printing nothing."""
        try:
            self.probe(obj)
        except NotAttempted as err:
            return CheckResult(self.name, NOT_ATTEMPTED, f"Not attempted yet: {err}")
        except Wrong as err:
            return CheckResult(self.name, WRONG, str(err))
        except Exception as err:  # the learner's code crashed: say how, do not hide it
            return CheckResult(self.name, WRONG,
                               f"your code raised {type(err).__name__}: {err}")
        return CheckResult(self.name, PASSED,
                           "The public checks passed (the graded version runs more tests).")

    def __call__(self, obj) -> None:
        """Check `obj` and print the verdict; under nbgrader, fail the cell unless it passed.

        Returns None so that a test cell ending with a check displays nothing else (use
        `run` to get the CheckResult).
        """
        result = self.run(obj)
        print(result)
        if is_grading() and not result.passed:
            raise AssertionError(str(result))

    def use(self, obj):
        """The learner's `obj` if it passes the public checks, else the reference (said once)."""
        result = self.run(obj)
        if result.passed or self.reference is None:
            print(f"The demos below use your `{self.name}`.")
            return obj
        print(f"The demos below use lessonlib's reference `{self.name}` "
              f"until yours passes its checks ({result.status}).")
        return self.reference


def public_check(name: str, reference=None) -> Callable[[Callable], PublicCheck]:
    """Decorator: turn a probe function into a PublicCheck called `name`."""

    def wrap(probe: Callable) -> PublicCheck:
        check = PublicCheck(name, probe, reference)
        check.__doc__ = probe.__doc__
        return check

    return wrap

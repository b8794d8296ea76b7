"""Self-check machinery: three states, a message that names the likely mistake, a fallback.

A public check is a probe function wrapped by `public_check`. The probe receives the
learner's object (a function, a class, a value), calls it through `attempt`, and raises
`Wrong("...likely mistake...")` through `expect`, `fail` or `reject_slips` when something is
off. `reject_slips(got, {message: wrong_value, ...}, want=...)` is the one way a check
compares an answer with the classic mistakes (`expect_close` adds the final comparison).
Calling the check prints one of three states:

    not attempted   the stub is still there (returns None / raises NotImplementedError)
    wrong           a probe failed; the message names the likely mistake
    passed          every public check passed (hidden tests may probe more)

While nbgrader grades (NBGRADER_EXECUTION is set) a check that did not pass also raises
AssertionError, so the test cell scores 0. Outside grading it never raises: an untouched
notebook runs from top to bottom.

An exception is blamed on the learner only when it was raised inside the learner's code
(a frame of the traceback lies outside lessonlib and outside the installed libraries);
otherwise it is reported as a bug in the check. Calling a check (as every graded test cell
does first) also confirms that the object was written in the notebook, not borrowed from
lessonlib (lessonlib.checks.provenance).
"""

from __future__ import annotations

import functools
import math
import numbers
import sys
import sysconfig
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from lessonlib.checks.progress import record_outcome
from lessonlib.checks.provenance import borrowed_reason, lessonlib_callables
from lessonlib.core.runmode import is_grading

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


def fail(message: str) -> None:
    """Raise Wrong(message): the answer is off and no known slip explains it."""
    raise Wrong(message)


def reject_slips(got, slips: Mapping[str, object] | Iterable[tuple[str, object]], *,
                 want=None, tol: float = 1e-5,
                 same: Callable[[object, object], bool] | None = None) -> None:
    """Raise Wrong(message) for the first known slip that reproduces `got`.

    slips: message -> the value that mistake would give on the same inputs (a number, a
    tensor, or a zero-argument callable computing it; None skips the slip). A slip whose
    value equals `want` cannot be told apart on this case and is skipped. `same` compares
    two values (default: `close` with `tol`).
    """
    same = same or (lambda a, b: close(a, b, tol))
    items = slips.items() if isinstance(slips, Mapping) else slips
    for message, wrong in items:
        if callable(wrong):
            wrong = wrong()
        if wrong is None or (want is not None and same(wrong, want)):
            continue
        if same(got, wrong):
            raise Wrong(message if message.endswith((".", "?", "!")) else message + ".")


def expect_close(got, want, message: str,
                 slips: Mapping[str, object] | Iterable[tuple[str, object]] = (), *,
                 tol: float = 1e-5, same: Callable[[object, object], bool] | None = None) -> None:
    """Name the first slip that reproduces `got` (reject_slips), then insist that `got`
    matches `want` (`same`, default `close` with `tol`), else raise Wrong(message)."""
    reject_slips(got, slips, want=want, tol=tol, same=same)
    expect((same or (lambda a, b: close(a, b, tol)))(got, want), message)


def close(a, b, tol: float = 1e-5) -> bool:
    """True if two numbers or tensors agree to `tol` (absolute and relative)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        a_t = torch.as_tensor(a, dtype=torch.float64)
        b_t = torch.as_tensor(b, dtype=torch.float64)
        return a_t.shape == b_t.shape and torch.allclose(a_t, b_t, atol=tol, rtol=tol)
    return math.isclose(float(a), float(b), abs_tol=tol, rel_tol=tol)


def expect_tensor(out, shape: tuple[int, ...], what: str,
                  shape_slips: Mapping[tuple[int, ...], str] | None = None) -> torch.Tensor:
    """The output must be a tensor of the given shape.

    shape_slips: wrong shape -> the message naming the mistake that gives it (checked first).
    """
    expect(isinstance(out, torch.Tensor),
           f"{what} should be a torch.Tensor, got {type(out).__name__}.")
    for wrong, message in (shape_slips or {}).items():
        expect(tuple(out.shape) != tuple(wrong), message)
    expect(tuple(out.shape) == tuple(shape),
           f"{what} should have shape {list(shape)}, got {list(out.shape)}.")
    return out


def rounded(values, digits: int = 4) -> list[float]:
    """A tensor (or sequence) as a flat list of rounded floats, for messages."""
    return [round(float(v), digits) for v in torch.as_tensor(values).reshape(-1).tolist()]


def expect_tuple(out, names: str | Sequence[str], what: str = "return") -> tuple:
    """The output must be a tuple or list with one item per name ("z_hat, indices")."""
    names = names.split(", ") if isinstance(names, str) else list(names)
    got = type(out).__name__ + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
    expect(isinstance(out, (tuple, list)) and len(out) == len(names),
           f"{what} {'a pair' if len(names) == 2 else 'a tuple'} ({', '.join(names)}), got {got}.")
    return tuple(out)


def expect_number(value, kind: type = float):
    """A plain Python int or float (`kind`), not a tensor nor a bool; returns kind(value)."""
    noun = kind.__name__
    expect(not isinstance(value, torch.Tensor),
           f"return a Python {noun}, got a tensor ({value!r}): use {noun}(...) or .item().")
    expect(isinstance(value, numbers.Integral if kind is int else numbers.Real)
           and not isinstance(value, bool),
           f"return a Python {noun}, got {type(value).__name__} {value!r}.")
    return kind(value)


def attempt_pure(fn: Callable, *args, names: str | Sequence[str], **kwargs):
    """attempt(fn, *args, **kwargs), then insist that no tensor argument changed in place.

    names: the arguments' names for the message ("z1, z2" or a sequence).
    """
    names = names.split(", ") if isinstance(names, str) else list(names)
    before = [a.clone() if isinstance(a, torch.Tensor) else None for a in args]
    out = attempt(fn, *args, **kwargs)
    for name, old, now in zip(names, before, args):
        expect(old is None or torch.equal(old, now),
               f"your function modified its input `{name}` in place (mul_, add_, copy_, "
               "x[k] = ...): build new tensors instead, or clone the inputs first.")
    return out


@contextmanager
def seeded(seed: int | None = None):
    """Run a block under torch.manual_seed(seed) (if given); the global torch RNG (CPU) is
    restored afterwards, so a check never moves the notebook's random stream."""
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def keeps_rng(probe: Callable) -> Callable:
    """Decorator: run a probe inside `seeded()` (module inits draw from the global RNG)."""

    @functools.wraps(probe)
    def wrapped(obj):
        with seeded():
            return probe(obj)

    return wrapped


class PublicCheck:
    """A named public check with its probe and lessonlib's reference implementation."""

    def __init__(self, name: str, probe: Callable, reference=None):
        self.name = name
        self.probe = probe
        self.reference = reference

    def run(self, obj, *, provenance: bool = False) -> CheckResult:
        """Run the probe on `obj` and return the result, printing nothing.

        provenance=True first confirms that `obj` was written in the notebook (not an
        import of, alias of, subclass of or wrapper around the reference).
        """
        if provenance:
            reason = borrowed_reason(obj, self.reference)
            if reason is None:
                reason = self._wrapped_equivalent(obj)
            if reason is not None:
                return CheckResult(self.name, WRONG, f"this is not your own `{self.name}`: "
                                   f"{reason}. Write it yourself in this notebook.")
        try:
            self.probe(obj)
        except NotAttempted as err:
            return CheckResult(self.name, NOT_ATTEMPTED, f"Not attempted yet: {err}")
        except Wrong as err:
            return CheckResult(self.name, WRONG, str(err))
        except Exception as err:
            if raised_in_learner_code(err):  # the learner's code crashed: say how
                return CheckResult(self.name, WRONG,
                                   f"your code raised {type(err).__name__}: {err}")
            return CheckResult(self.name, WRONG, (
                f"the check itself failed ({type(err).__name__}: {err}). This is a bug in "
                "the course, not in your code: please report it."))
        return CheckResult(self.name, PASSED,
                           "The public checks passed (the graded version runs more tests).")

    def _wrapped_equivalent(self, obj) -> str | None:
        """A reason if `obj` calls a lessonlib object that already passes this check."""
        if self.reference is None or not callable(obj):
            return None
        for helper in lessonlib_callables(obj):
            if self.run(helper).passed:
                return (f"it calls lessonlib's `{getattr(helper, '__name__', helper)}`, which "
                        "already computes the answer")
        return None

    def __call__(self, obj) -> None:
        """Check `obj` and print the verdict; under nbgrader, fail the cell unless it passed.

        This is what a graded test cell calls first, so it also confirms the object was
        written in the notebook. Returns None so that a test cell ending with a check
        displays nothing else (use `run` to get the CheckResult).
        """
        result = self.run(obj, provenance=True)
        print(result)
        record_outcome(self.name, result.status)
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


_LESSONLIB_DIR = Path(__file__).resolve().parents[1]
_LIBRARY_DIRS = {Path(p).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")
                 if (p := sysconfig.get_paths().get(key))}
_LIBRARY_DIRS |= {Path(p).resolve() for p in sys.path if p.endswith(("site-packages",
                                                                     "dist-packages"))}


def _is_library_file(filename: str) -> bool:
    if filename.startswith("<frozen"):
        return True
    path = Path(filename).resolve()
    return any(path.is_relative_to(d) for d in (_LESSONLIB_DIR, *_LIBRARY_DIRS))


def raised_in_learner_code(err: BaseException) -> bool:
    """True if a frame of the traceback of `err` is the learner's code: a cell of the
    notebook or any file outside lessonlib and the installed libraries."""
    tb = err.__traceback__
    while tb is not None:
        if not _is_library_file(tb.tb_frame.f_code.co_filename):
            return True
        tb = tb.tb_next
    return False


def public_check(name: str, reference=None) -> Callable[[Callable], PublicCheck]:
    """Decorator: turn a probe function into a PublicCheck called `name`."""

    def wrap(probe: Callable) -> PublicCheck:
        check = PublicCheck(name, probe, reference)
        check.__doc__ = probe.__doc__
        return check

    return wrap

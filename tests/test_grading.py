"""The checkers are tested: autograde the solution, the blank release and wrong versions."""

from __future__ import annotations

import re

import pytest

from lessonlib.checks.core import PublicCheck
from tests.conftest import write_report
from tools.grading import grade_chapter, load_variants, load_wrong_module, table


@pytest.mark.grading  # nbgrader autograde in a throw-away course
def test_checkers_catch_wrong_implementations(chapter, tmp_path):
    grades = grade_chapter(chapter, tmp_path)
    write_report("grading", chapter, table(grades))
    assert grades.exercises, "no autograded exercises"
    for ex in grades.exercises:
        top = grades.max_points[ex]
        assert grades.scores["solution"][ex] == top, f"solution loses points on {ex}"
        assert grades.scores["blank"][ex] == 0, f"untouched release scores on {ex}"
    variants = load_variants(chapter)
    for ex in grades.exercises:
        if ex.startswith("answer_q"):
            continue
        assert len(variants.get(ex, [])) >= 2, f"{ex}: needs at least two wrong implementations"
    for student, chosen in grades.variants.items():
        for ex in grades.exercises:
            got, top = grades.scores[student][ex], grades.max_points[ex]
            if ex in chosen:
                assert got < top, f"{chosen[ex].slug} ({student}) keeps the points of {ex}"
            else:
                assert got == top, f"{ex} loses points in {student}, which did not change it"


def _public_checks():
    import importlib
    import pkgutil

    import lessonlib.checks as pkg

    found = {}
    for info in pkgutil.walk_packages(pkg.__path__, prefix="lessonlib.checks."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, PublicCheck):
                found[value.name] = value
    return found


def test_public_checks_name_the_mistake(chapter):
    """Each wrong version listed in MESSAGES is called wrong with the mistake named."""
    module = load_wrong_module(chapter)
    checks = _public_checks()
    messages = getattr(module, "MESSAGES", {})
    assert messages or not load_variants(chapter), "list expected messages in MESSAGES"
    for qualified, pattern in messages.items():
        target = qualified.split("__", 1)[0]
        result = checks[target].run(getattr(module, qualified))
        assert result.status == "wrong", f"{qualified}: public check says {result.status}"
        assert re.search(pattern, result.message, re.I), (
            f"{qualified}: message {result.message!r} does not match {pattern!r}")


def test_imported_references_are_rejected(chapter):
    """Every graded function has an `imported_reference` wrong version, and calling its
    check (what a graded test cell does first) rejects it with a message that says so."""
    module = load_wrong_module(chapter)
    checks = _public_checks()
    for target, variants in load_variants(chapter).items():
        if target.startswith("answer_q") or target not in checks:
            continue
        check = checks[target]
        if check.reference is None or not callable(check.reference):
            continue  # a value (e.g. a pair of numbers), not a function
        slugs = [v.slug for v in variants]
        assert "imported_reference" in slugs, f"{target}: add an imported_reference variant"
        borrowed = getattr(module, f"{target}__imported_reference")
        result = check.run(borrowed, provenance=True)
        assert result.status == "wrong" and "not your own" in result.message, result


def test_every_reference_passes_its_own_check():
    for name, check in _public_checks().items():
        if check.reference is not None:
            assert check.run(check.reference).passed, f"{name}: reference fails its own check"

"""The progress file behind the score card: recorded by the checks, read safely, catalogued."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from lessonlib.checks import progress
from lessonlib.checks.core import PublicCheck, Wrong
from tools.generate import CATALOG, catalog_text


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "course" / progress.FILE_NAME
    path.parent.mkdir()
    monkeypatch.setenv("LESSONLIB_PROGRESS", str(path))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    return path


def test_round_trip_keeps_the_latest_outcome(store):
    progress.record_outcome("kl_standard_normal", "wrong", when=datetime(2026, 1, 2, 3, 4, 5))
    progress.record_outcome("kl_standard_normal", "passed")
    progress.record_outcome("quiz ch03/q1", "not attempted")
    outcomes, note = progress.load_progress()
    assert note == "" and outcomes["kl_standard_normal"]["status"] == "passed"
    assert outcomes["quiz ch03/q1"]["status"] == "not attempted"
    assert datetime.fromisoformat(outcomes["kl_standard_normal"]["time"]).year >= 2026


def test_missing_and_corrupt_files_give_an_empty_card_with_a_note(store):
    outcomes, note = progress.load_progress()
    assert outcomes == {} and "No progress recorded yet" in note
    for junk in ("{not json", json.dumps({"outcomes": [1, 2]}), json.dumps([1])):
        store.write_text(junk)
        outcomes, note = progress.load_progress()
        assert outcomes == {} and "could not be read" in note
    progress.record_outcome("interpolate", "passed")  # a corrupt file is replaced, not fatal
    assert progress.load_progress()[0]["interpolate"]["status"] == "passed"


def test_nothing_is_recorded_while_nbgrader_grades(store, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    progress.record_outcome("interpolate", "passed")
    assert not store.exists()


def test_an_unwritable_folder_does_not_break_a_check(tmp_path, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("LESSONLIB_PROGRESS", str(tmp_path / "missing-folder" / "p.json"))
    progress.record_outcome("interpolate", "passed")  # no exception


def test_the_file_lives_in_the_course_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("LESSONLIB_PROGRESS", raising=False)
    chapter = tmp_path / "notebooks" / "ch03_elbo"
    chapter.mkdir(parents=True)
    assert progress.progress_path(chapter) == tmp_path / "notebooks" / progress.FILE_NAME
    assert progress.progress_path(tmp_path) == tmp_path / progress.FILE_NAME


def test_calling_a_check_records_its_outcome(store):
    def probe(fn):
        if fn(2) != 4:
            raise Wrong("double it")

    check = PublicCheck("double", probe)
    ns = {"__name__": "__main__"}
    exec("def wrong(x):\n    return x\ndef right(x):\n    return 2 * x\n", ns)
    check(ns["wrong"])
    assert progress.load_progress()[0]["double"]["status"] == "wrong"
    check(ns["right"])
    assert progress.load_progress()[0]["double"]["status"] == "passed"


def test_revealing_a_model_answer_records_the_written_exercise(store, monkeypatch):
    from lessonlib.views import model_answer

    monkeypatch.setattr("IPython.display.display", lambda obj: None)
    model_answer.reveal_button("derivation_elbo", "ch03_elbo").children[0].click()
    assert progress.load_progress()[0]["derivation_elbo"]["status"] == progress.WRITTEN


def test_the_catalog_lists_every_chapter_and_is_in_sync():
    assert CATALOG.read_text() == catalog_text(), "run python3 course.py generate"
    cat = progress.catalog()
    from tests.test_grading import _public_checks

    names = set(_public_checks())
    for chapter, items in cat.items():
        assert items, chapter
        for item in items:
            if item["kind"] == "build":
                assert item["name"] in names, f"{chapter}: no public check {item['name']}"
            elif item["kind"] == "quiz":
                assert item["name"].startswith(f"quiz {chapter[:4]}/"), item

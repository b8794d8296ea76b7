"""Model answers: revealed from the instructor notebook beside the course, never released."""

from __future__ import annotations

import json
import shutil

import jupytext
import pytest

from lessonlib.views import model_answer as ma
from tools.chapters import ROOT, release_ipynb, solution_ipynb, source_py
from tools.generate import HOW_IT_WORKS, model_answer_key

CH = "ch03_elbo"


def _keys(chapter: str) -> list[str]:
    nb = jupytext.read(source_py(chapter))
    return [k for c in nb.cells if (k := model_answer_key(c))]


def test_found_in_a_clone_of_the_course():
    text = ma.model_answer("derivation_elbo", CH, start=ROOT / "notebooks" / CH)
    assert text is not None and "Model answer" in text and "Jensen" in text


def test_found_from_the_folder_above_a_clone(tmp_path):
    clone = tmp_path / "latent-spaces"  # e.g. /content/latent-spaces on Colab, cwd /content
    (clone / "solutions" / CH).mkdir(parents=True)
    shutil.copy(solution_ipynb(CH), clone / "solutions" / CH)
    assert "Model answer" in ma.model_answer("derivation_elbo", CH, start=tmp_path)


def test_a_graded_class_release_has_no_model_answers(tmp_path, monkeypatch):
    monkeypatch.delenv("LESSONLIB_SOLUTIONS", raising=False)
    (tmp_path / CH).mkdir()
    shutil.copy(release_ipynb(CH), tmp_path / CH)  # what nbgrader hands to a student
    assert ma.find_instructor_notebook(CH, start=tmp_path / CH) is None
    assert ma.model_answer("derivation_elbo", CH, start=tmp_path / CH) is None


def test_the_environment_variable_points_to_the_solutions(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONLIB_SOLUTIONS", str(ROOT / "solutions"))
    assert "Model answer" in ma.model_answer("checkpoint_elbo", CH, start=tmp_path)
    assert ma.model_answer("no_such_key", CH, start=tmp_path) is None


def test_the_button_reveals_only_when_pressed(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    monkeypatch.setattr(ma, "model_answer", lambda key, chapter: f"answer {key} {chapter}")
    box = ma.reveal_button("derivation_elbo", CH)
    button = box.children[0]
    assert "I have written my answer" in button.description and not shown
    button.click()
    assert button.disabled and shown and "answer derivation_elbo ch03_elbo" in shown[0].data
    monkeypatch.setattr(ma, "model_answer", lambda key, chapter: None)
    shown.clear()
    ma.reveal_button("derivation_elbo", CH).children[0].click()
    assert "instructor holds" in shown[0].data


def test_every_release_has_the_shared_intro_and_a_reveal_under_each_answer(chapter):
    cells = json.loads(release_ipynb(chapter).read_text())["cells"]
    assert cells[1]["id"] == "how-this-notebook-works"
    assert "".join(cells[1]["source"]) == HOW_IT_WORKS
    assert "How this notebook works" not in source_py(chapter).read_text(), (
        "the intro is inserted by the generator (tools/templates): remove the chapter's copy")
    ids = [c["id"] for c in cells]
    for key in _keys(chapter):
        assert f"reveal-{key}" in ids, f"no reveal cell for {key}"


def test_no_release_contains_a_model_answer(chapter):
    release = release_ipynb(chapter).read_text()
    nb = jupytext.read(source_py(chapter))
    for cell in nb.cells:
        if model_answer_key(cell) is None:
            continue
        for line in cell.source.splitlines():
            line = line.strip()
            if len(line) >= 40:
                assert json.dumps(line)[1:-1] not in release, f"model answer leaked: {line!r}"


@pytest.mark.parametrize("key", ["derivation_elbo", "derivation_kl"])
def test_keys_of_a_chapter(key):
    assert key in _keys(CH)

"""lessonlib.core.model_cache: train once, load afterwards, retrain on a new config or a
broken entry, never write when disabled."""

from __future__ import annotations

import torch
from torch import nn

from lessonlib.core.model_cache import cache_dir, cached_model, config_key, course_folder


def build():
    torch.manual_seed(0)
    return nn.Linear(3, 2)


def make_fit(calls):
    def fit(model):
        calls.append(1)
        with torch.no_grad():
            model.weight.fill_(float(len(calls)))
        return {"seconds": 1.5}

    return fit


def test_config_key_ignores_key_order_and_sees_values():
    assert config_key({"a": 1, "b": 2}) == config_key({"b": 2, "a": 1})
    assert config_key({"a": 1}) != config_key({"a": 2})


def test_trains_once_then_loads(tmp_path):
    calls = []
    m1, info1, hit1 = cached_model("lin", {"k": 1}, build, make_fit(calls), folder=tmp_path)
    m2, info2, hit2 = cached_model("lin", {"k": 1}, build, make_fit(calls), folder=tmp_path)
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    assert torch.equal(m1.weight, m2.weight) and info2 == {"seconds": 1.5}
    _, _, hit3 = cached_model("lin", {"k": 2}, build, make_fit(calls), folder=tmp_path)
    assert not hit3 and len(calls) == 2


def test_broken_entry_is_retrained(tmp_path):
    calls = []
    cached_model("lin", {"k": 1}, build, make_fit(calls), folder=tmp_path)
    entry = next(tmp_path.glob("lin-*.pt"))
    entry.write_bytes(b"not a checkpoint")
    _, _, hit = cached_model("lin", {"k": 1}, build, make_fit(calls), folder=tmp_path)
    assert not hit and len(calls) == 2


def test_disabled_cache_neither_reads_nor_writes(tmp_path):
    calls = []
    cached_model("lin", {"k": 1}, build, make_fit(calls), folder=tmp_path, use_cache=False)
    assert not list(tmp_path.iterdir())


def test_cache_dir_follows_the_environment_then_the_course_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("LESSONLIB_CACHE")
    course = tmp_path / "course"
    chapter = course / "notebooks" / "ch10_x"
    chapter.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("")
    monkeypatch.chdir(chapter)
    assert course_folder() == course.resolve()
    assert cache_dir() == course.resolve() / ".cache" / "lessonlib"
    alone = tmp_path / "alone"
    alone.mkdir()
    assert course_folder(alone) is None

"""A cache of trained models in the learner's course folder, keyed by their configuration.

A long notebook may reuse a model that an earlier chapter's code trains (the chapter 5-7
digit tokenizer): the first full run trains it and saves its weights; later runs with the
same configuration load them instead of training again. Nothing is ever downloaded: a
missing or unreadable entry is simply retrained.

Where: $LESSONLIB_CACHE if set; else `.cache/lessonlib/` in the course folder, the nearest
folder above the working directory that holds the course's `nbgrader_config.py` or
`course.py` (git-ignored there); else ~/.cache/lessonlib (a notebook opened on its own).
Never inside a chapter's folder: nbgrader would copy it into the student release. The key
is a hash of the configuration (a JSON-able dict: sizes, steps, seeds, learning rate), so
changing any of them retrains.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

CACHE_VERSION = 1  # bump when a cached model's code changes meaning


COURSE_MARKERS = ("nbgrader_config.py", "course.py")


def course_folder(start: Path | None = None) -> Path | None:
    """The nearest folder at or above `start` (default: the working directory) that holds
    one of the course's marker files, or None."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).is_file() for marker in COURSE_MARKERS):
            return folder
    return None


def cache_dir() -> Path:
    """The folder of cached models (created on first write)."""
    env = os.environ.get("LESSONLIB_CACHE")
    if env:
        return Path(env).expanduser()
    course = course_folder()
    if course is not None:
        return course / ".cache" / "lessonlib"
    return Path.home() / ".cache" / "lessonlib"


def config_key(config: dict) -> str:
    """A short hash of a JSON-able configuration (order of keys does not matter)."""
    text = json.dumps({"cache_version": CACHE_VERSION, **config}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_model(name: str, config: dict, build: Callable[[], nn.Module],
                 fit: Callable[[nn.Module], dict], *, use_cache: bool = True,
                 folder: Path | None = None) -> tuple[nn.Module, dict, bool]:
    """(model, info, loaded): a trained model, from the cache if an entry for this
    configuration exists, else built, trained by fit(model) -> info (a dict of numbers,
    e.g. training seconds) and saved. use_cache=False always trains and never writes."""
    model = build()
    path = (folder or cache_dir()) / f"{name}-{config_key(config)}.pt"
    if use_cache and path.exists():
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(entry["state"])
            return model, dict(entry["info"]), True
        except Exception as err:  # any unreadable entry (truncated, old format): retrain
            print(f"cache entry {path.name} unreadable ({type(err).__name__}); retraining")
            model = build()
    info = dict(fit(model))
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"state": model.state_dict(), "info": info, "config": config}, tmp)
        tmp.replace(path)
    return model, info, False

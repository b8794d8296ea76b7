"""Figures quoted in prose come from the recorded full run (results/full/), filled in by the
generator from {{name}} placeholders; none may be missing."""

from __future__ import annotations

import json

import jupytext
import pytest

from tools.chapters import release_ipynb, solution_ipynb, source_py
from tools.generate import DRAFT, DRAFT_MARK, FIGURE, MissingFigure, figure_value, fill_figures


def test_placeholders_are_filled_and_formatted(tmp_path):
    (tmp_path / "ch99_x.json").write_text(json.dumps(
        {"psnr": 24.8731, "usage": 64, "sweep": {"1": {"nelbo": 122.31}}}))
    (tmp_path / "ch05_vq_vae.json").write_text(json.dumps({"psnr": 24.9}))
    text = ("PSNR {{psnr:.1f}} dB, {{ usage }} codes, {{sweep/1/nelbo:.0f}} nats, "
            "chapter 5 gave {{ch05_vq_vae@psnr:.1f}}; {{psnr}}")
    assert fill_figures(text, "ch99_x", tmp_path) == (
        "PSNR 24.9 dB, 64 codes, 122 nats, chapter 5 gave 24.9; 24.9")
    with pytest.raises(MissingFigure, match="nope"):
        fill_figures("{{nope}}", "ch99_x", tmp_path)


def test_every_figure_in_the_prose_is_recorded(chapter):
    nb = jupytext.read(source_py(chapter))
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for m in FIGURE.finditer(cell.source):
            figure_value(m.group(1) or chapter, m.group(2))  # raises if missing


def test_a_draft_marks_missing_figures_and_never_ships(tmp_path, chapter, monkeypatch):
    (tmp_path / "ch99_x.json").write_text(json.dumps({"psnr": 24.87}))
    monkeypatch.setitem(DRAFT, "on", True)
    assert fill_figures("{{psnr:.1f}} and {{nope}}", "ch99_x", tmp_path) == (
        "24.9 and " + DRAFT_MARK.format("nope"))
    marker = DRAFT_MARK.split("{")[0]
    for notebook in (solution_ipynb(chapter), release_ipynb(chapter)):
        assert marker not in notebook.read_text(), (
            f"{notebook.name} was generated with --draft: run the full benchmark, then "
            "`python3 course.py generate` again")

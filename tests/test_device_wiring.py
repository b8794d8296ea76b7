"""Every chapter trains on the device its set-up cell chose: each call of a course training
loop passes `device=DEVICE` (a model sits on DEVICE before its optimizer is built; the loop
moves each batch once). A static check of the chapter sources; the loops themselves are
tested on the CPU in tests/test_device.py and tests/test_device_loops.py."""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext

from tools.chapters import chapters, source_py

LOOPS = {"train", "train_tokenizer", "train_vqgan", "train_prior", "train_feature_net"}


def chapter_code(source: Path) -> str:
    """The Python of a chapter source's code cells, joined (magics left out)."""
    return "\n".join(c.source for c in jupytext.read(source).cells if c.cell_type == "code"
                     and not c.source.lstrip().startswith(("%", "!")))


def loop_calls(source: Path) -> list[ast.Call]:
    calls = []
    for node in ast.walk(ast.parse(chapter_code(source))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in LOOPS:
                calls.append(node)
    return calls


def test_the_set_up_cell_defines_the_device():
    for chapter in chapters():
        nb = jupytext.read(source_py(chapter))
        assert not any("DEVICE = get_device()" in c.source for c in nb.cells), (
            f"{chapter}: the set-up cell comes from tools/templates/setup_cell.py, "
            "inserted by the generator; do not define DEVICE in the source")


def test_every_training_loop_gets_the_device(chapter):
    """Each loop call passes device=, or the line above it says why not ("no device=")."""
    source = source_py(chapter)
    lines = chapter_code(source).splitlines()
    missing = [f"{ast.unparse(call.func)}(...) near: {lines[call.lineno - 1].strip()[:60]}"
               for call in loop_calls(source)
               if not any(k.arg == "device" for k in call.keywords)
               and "no device=" not in "\n".join(lines[max(0, call.lineno - 4):call.lineno])]
    assert not missing, f"{chapter}: training loops without device=DEVICE: {missing}"


def test_the_static_check_sees_a_loop_without_a_device(tmp_path):
    source = tmp_path / "ch99_x.py"
    source.write_text("# %%\nhistory = train(model.parameters(), step, batches, steps=5)\n"
                      "# %%\nhistory = train_tokenizer(model, x, steps=5, device=DEVICE)\n")
    calls = loop_calls(source)
    assert [any(k.arg == "device" for k in c.keywords) for c in calls] == [False, True]

"""Model answers, revealed after an attempt, when the instructor notebook is beside the course.

Hand-graded cells (derivations, checkpoints, diagnoses, design challenges) and explanation
cells hold their model answer in the instructor notebook solutions/<chapter>/<chapter>.ipynb;
an nbgrader release never contains them. Under each such cell the student notebook has

    show_model_answer("derivation_elbo", "ch03_elbo")

which shows a button, "I have written my answer: show the model answer". Pressing it looks
for the instructor notebook beside the course (LESSONLIB_SOLUTIONS, or a `solutions/` folder
in the working folder or one of its parents, or in a folder just below the working folder: a
clone of the repository, Colab included) and displays the answer; when there is none (a
graded class), it says that the instructor holds the model answers. Nothing is checked: a
markdown answer cell cannot be read from the kernel, so the button trusts the learner.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lessonlib.checks.progress import WRITTEN, record_outcome

NOT_HERE = ("The model answers are not in this copy of the course: your instructor holds them "
            "(they come with the instructor notebooks in solutions/, never with a release).")


def _candidates(chapter: str, start: Path) -> list[Path]:
    name = f"{chapter}.ipynb"
    found = []
    env = os.environ.get("LESSONLIB_SOLUTIONS")
    if env:
        found.append(Path(env) / chapter / name)
    found.extend(folder / "solutions" / chapter / name for folder in (start, *start.parents))
    try:  # a clone just below the working folder (Colab: /content/<clone>)
        children = sorted(p for p in start.iterdir() if p.is_dir())
    except OSError:
        children = []
    found.extend(child / "solutions" / chapter / name for child in children)
    return found


def find_instructor_notebook(chapter: str, start: str | Path | None = None) -> Path | None:
    """The instructor notebook of `chapter` beside the course, or None."""
    start = Path(start or Path.cwd()).resolve()
    return next((p for p in _candidates(chapter, start) if p.is_file()), None)


def model_answer(key: str, chapter: str, start: str | Path | None = None) -> str | None:
    """The markdown of the model answer `key` (an nbgrader grade_id, or a cell's
    `model_answer` metadata) from the instructor notebook, or None if it is not here."""
    path = find_instructor_notebook(chapter, start)
    if path is None:
        return None
    for cell in json.loads(path.read_text())["cells"]:
        meta = cell.get("metadata", {})
        if meta.get("model_answer") == key or meta.get("nbgrader", {}).get("grade_id") == key:
            source = cell["source"]
            return "".join(source) if isinstance(source, list) else source
    return None


def reveal_button(key: str, chapter: str):
    """The widget: a button that reveals the model answer `key` of `chapter` when pressed."""
    import ipywidgets as w
    from IPython.display import Markdown, display

    out = w.Output()
    button = w.Button(description="I have written my answer: show the model answer",
                      layout=w.Layout(width="auto"))

    def reveal(_):
        record_outcome(key, WRITTEN)
        text = model_answer(key, chapter)
        button.disabled = True
        with out:
            display(Markdown(text if text is not None else NOT_HERE))

    button.on_click(reveal)
    return w.VBox([button, out])


def show_model_answer(key: str, chapter: str) -> None:
    """Display the reveal button for the model answer `key` of `chapter`."""
    from IPython.display import display

    display(reveal_button(key, chapter))

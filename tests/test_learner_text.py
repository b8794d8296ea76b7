"""Learner-facing text stands alone, and every chapter has one shape.

A self-learner has never seen the documents the course was written from: prose, printed
lines, figure labels and check messages must not point at them ("the seed's snippet", "the
beginner's path", "the tutorial", "sanity check [b]", "the contract"). "seed" meaning a
random seed (`seed_everything`, `seed=`, "two random seeds") stays allowed: the banned
forms are the ones a learner cannot read as a random seed. Each chapter also numbers its
sections "## 1. ...", ends with "## Summary" and "## References" (authors, year, venue), and
labels its cells from one vocabulary (Interactive, Build it, Derivation, Lab, Check,
Checkpoint, Summary).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import jupytext
import pytest

from tools.chapters import ROOT, chapters, release_ipynb, source_py

# (pattern, why it is banned); matched case-insensitively
BANNED = [
    (r"\bthe seeds?\b", "'the seed(s)' reads as a random seed: name the source or say "
                        "'random seed'"),
    (r"\bseeds?'s?\b(?!\s*=)", "a seed's/seeds' (a source document, not a random seed)"),
    (r"beginner'?s[ -]path", "the learner never saw 'the beginner's path'"),
    (r"\b(the|a|reference) tutorial\b|\btutorial'?s\b", "the learner never saw 'the tutorial'"),
    (r"sanity (check|line)s? ?\[", "'sanity check [b]' labels a document the learner never saw"),
    (r"\bthe contract\b|\bcontract'?s\b", "'the contract' is the course's design document"),
    (r"source (material|documents?)", "the learner never saw the source material"),
]
# the letters [a]..[i] of the unseen document's sanity checks, as a label in a printed string
SANITY_LABEL = re.compile(r"(?<![\w\]\)}])\[[a-i]\](?![\w(])")
# an ordinary random seed: these contexts never trip the patterns above
ALLOWED = [r"random seeds?", r"seed_everything", r"\bseed\s*="]

VOCABULARY = {"Interactive", "Build it", "Derivation", "Lab", "Check", "Checkpoint", "Summary"}
# lead-ins that are cell labels in other courses (and were in this one): never use them
OTHER_LABELS = {"Experiment", "Adversarial", "Pattern recognition", "Break-it lab", "Break it",
                "Sanity check", "Quiz", "Exercise", "Design challenge", "Challenge", "Try it",
                "Demo", "Numeric part", "Reference"}
ALL_CHAPTERS = chapters()  # every chapter with a source: its text must stand alone
COURSE_CHAPTERS = [c for c in ALL_CHAPTERS if int(c[2:4]) <= 7]  # shape checked (issue 9)
RELEASED = [c for c in ALL_CHAPTERS if release_ipynb(c).exists()]
YEAR = re.compile(r"\b(19|20)\d\d\b")
HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", re.S)


def _banned_in(text: str) -> list[str]:
    """Every banned phrase in `text`, with the reason."""
    cleaned = text
    for allowed in ALLOWED:
        cleaned = re.sub(allowed, " ", cleaned, flags=re.I)
    found = [f"{m.group(0)!r}: {why}" for pattern, why in BANNED
             for m in re.finditer(pattern, cleaned, flags=re.I)]
    return found


def _code_text(source: str) -> list[tuple[str, str]]:
    """(kind, text) of the string literals and comments of Python source: what a learner
    reads in a cell or its output."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return [("string", source)]
    kinds = {tokenize.STRING: "string", tokenize.COMMENT: "comment"}
    return [(kinds[t.type], t.string) for t in tokens if t.type in kinds]


def _notebook_texts(nb, name: str) -> list[tuple[str, str]]:
    """(where, text) for every markdown cell and every string/comment of every code cell,
    hidden tests excepted (they never reach a release, and the graded test cells are kept
    exactly as they are so that the grading stays the same)."""
    texts = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            texts.append((f"{name} cell {i} (markdown)", cell.source))
        elif cell.cell_type == "code":
            visible = HIDDEN_TESTS.sub("", cell.source)
            texts += [(f"{name} cell {i} (code {kind})", s)
                      for kind, s in _code_text(visible)]
    return texts


def _chapter_texts(chapter: str) -> list[tuple[str, str]]:
    """The learner-facing text of a chapter's source (solutions/chNN_x/chNN_x.py)."""
    return _notebook_texts(jupytext.read(source_py(chapter)), chapter)


def _release_texts(chapter: str) -> list[tuple[str, str]]:
    """The learner-facing text of the generated student notebook (notebooks/), as released:
    filled placeholders, the generator's own cells (set-up, how this notebook works, model
    answer buttons) included."""
    path = release_ipynb(chapter)
    return _notebook_texts(jupytext.read(path), str(path.relative_to(ROOT)))


def _module_texts(folder: Path) -> list[tuple[str, str]]:
    return [(f"{p.relative_to(ROOT)} ({kind})", s) for p in sorted(folder.rglob("*.py"))
            for kind, s in _code_text(p.read_text())]


def _problems(texts: list[tuple[str, str]], labels: bool = True) -> list[str]:
    problems = [f"{where}: {hit}" for where, text in texts for hit in _banned_in(text)]
    if labels:
        problems += [f"{where}: {m.group(0)!r} labels a check of a document the learner "
                     "never saw" for where, text in texts for m in SANITY_LABEL.finditer(text)
                     if where.endswith("string)")]
    return problems


def test_the_patterns_tell_a_source_document_from_a_random_seed():
    assert _banned_in("A trap in the seed's snippet")
    assert _banned_in("Where the beginner's path is wrong")
    assert _banned_in("Train the tutorial's VAE") and _banned_in("as the tutorial notes")
    assert _banned_in("the reference tutorial's check [e]")
    assert _banned_in("The tutorial's sanity check [d] reports") and _banned_in("the contract's")
    assert _banned_in("Corrections to the seeds.") and _banned_in("the seeds' formula")
    assert _banned_in("the seed turns out to matter")  # say "the random seed"
    for fine in ("seed_everything(0)", "model = new_vae(seed=1)", "two random seeds",
                 "they vary with the random seed", "f'seed {seed}'", "a new noise seed",
                 "a worked example widely quoted online", "SPRITE_SEEDS = (0, 1)"):
        assert not _banned_in(fine), fine
    assert SANITY_LABEL.search('"[e] STE grad equiv"')
    assert not SANITY_LABEL.search("codebook[i]") and not SANITY_LABEL.search("f'{z[i]}'")


@pytest.mark.parametrize("course_chapter", ALL_CHAPTERS)
def test_chapter_text_stands_alone(course_chapter):
    chapter = course_chapter
    problems = _problems(_chapter_texts(chapter))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("course_chapter", RELEASED)
def test_release_text_stands_alone(course_chapter):
    """What the learner opens: the generated notebook, generator-inserted cells included."""
    chapter = course_chapter
    problems = _problems(_release_texts(chapter))
    assert not problems, "\n".join(problems)


def test_view_labels_stand_alone():
    """Figure titles and legends (lessonlib/views) are learner-facing text too."""
    problems = _problems(_module_texts(ROOT / "lessonlib" / "views"), labels=False)
    assert not problems, "\n".join(problems)


def test_check_messages_stand_alone():
    """The public checks' messages (lessonlib/checks) name mistakes without the sources."""
    problems = _problems(_module_texts(ROOT / "lessonlib" / "checks"), labels=False)
    assert not problems, "\n".join(problems)


def _headings(chapter: str) -> list[tuple[int, str]]:
    nb = jupytext.read(source_py(chapter))
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            m = re.match(r"^(#{1,4}) (.+)$", line)
            if m:
                out.append((len(m.group(1)), m.group(2).strip()))
    return out


@pytest.mark.parametrize("course_chapter", COURSE_CHAPTERS)
def test_sections_are_numbered_and_end_with_summary_and_references(course_chapter):
    chapter = course_chapter
    sections = [text for level, text in _headings(chapter) if level == 2]
    assert sections[-2:] == ["Summary", "References"], sections[-2:]
    for n, text in enumerate(sections[:-2], start=1):
        assert re.match(rf"{n}\. \S", text), f"section {n} should read '## {n}. ...': {text!r}"


@pytest.mark.parametrize("course_chapter", COURSE_CHAPTERS)
def test_cell_labels_come_from_one_vocabulary(course_chapter):
    chapter = course_chapter
    for level, text in _headings(chapter):
        if level == 1:
            continue
        title = re.sub(r"^\d+\.\s+", "", text)
        lead = re.sub(r"\s*\(.*?\)", "", title.split(":", 1)[0]).strip() if ":" in title else ""
        assert lead.lower() not in {label.lower() for label in OTHER_LABELS}, (
            f"{text!r}: label the cell with one of {sorted(VOCABULARY)}")
        if lead.lower() in {label.lower() for label in VOCABULARY}:
            assert lead in VOCABULARY, f"{text!r}: write the label as in {sorted(VOCABULARY)}"


@pytest.mark.parametrize("course_chapter", COURSE_CHAPTERS)
def test_references_cite_authors_year_and_venue(course_chapter):
    chapter = course_chapter
    nb = jupytext.read(source_py(chapter))
    last = [c for c in nb.cells if c.cell_type == "markdown"][-1].source
    assert last.startswith("## References"), "the last markdown cell is the References list"
    items = []
    for line in last.splitlines():
        if line.startswith(("* ", "- ")):
            items.append(line)
        elif line.startswith("  ") and items:  # an item's continuation line
            items[-1] += " " + line.strip()
    assert items, "References lists at least one work"
    for item in items:
        assert YEAR.search(item), f"no year in reference {item!r}"

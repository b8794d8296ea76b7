"""The score card: the latest outcome of every exercise of the course, chapter by chapter.

Inputs are plain data, so that everything here is pure and testable:

    outcomes   {name: {"status": ..., "time": ISO time}}, what lessonlib.checks.progress
               recorded (a public check records "not attempted", "wrong" or "passed"; the
               reveal button of a written answer records "written")
    catalog    {chapter: [{"name", "grade_id", "kind", "points"}, ...]}, every exercise of
               every chapter (lessonlib/checks/catalog.json), so that exercises never tried
               appear too

`score_rows` joins them (one row per exercise), `chapter_summaries` counts per chapter and
says what to revisit, `render_score_card` draws one row of coloured cells per chapter (a
matplotlib Figure), `score_card_html` is the per-exercise table. `show_score_card()` reads
the progress file and the catalog and displays both; a missing or unreadable progress file
gives an empty card with the note that says why, never an error. Nothing is sent anywhere.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

PASSED, WRONG, WRITTEN, NOT_ATTEMPTED = "passed", "wrong", "written", "not attempted"
STATUSES = (PASSED, WRITTEN, WRONG, NOT_ATTEMPTED)
COLORS = {PASSED: "#2ca02c", WRITTEN: "#1f77b4", WRONG: "#d62728", NOT_ATTEMPTED: "#d9d9d9"}
LABELS = {PASSED: "public checks passed", WRITTEN: "written (graded by hand)",
          WRONG: "wrong: revisit", NOT_ATTEMPTED: "not attempted"}
KIND_NAMES = {"build": "Build it", "quiz": "Check", "written": "written answer"}


@dataclass(frozen=True)
class ScoreRow:
    """One exercise: where it is, what it is, and its latest recorded outcome."""

    chapter: str
    name: str
    kind: str
    points: float
    status: str = NOT_ATTEMPTED
    time: str = ""


@dataclass
class ChapterSummary:
    """Counts per status for one chapter, and the exercises to revisit (wrong first)."""

    chapter: str
    counts: dict[str, int] = field(default_factory=dict)
    revisit: list[str] = field(default_factory=list)
    untried: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return self.counts.get(PASSED, 0) + self.counts.get(WRITTEN, 0)


def _outcome(entry) -> tuple[str, str]:
    """(status, time) of one recorded entry; anything unreadable counts as not attempted."""
    if not isinstance(entry, dict) or entry.get("status") not in STATUSES:
        return NOT_ATTEMPTED, ""
    when = entry.get("time")
    return entry["status"], when if isinstance(when, str) else ""


def score_rows(outcomes: dict, catalog: dict) -> list[ScoreRow]:
    """One row per catalogued exercise, in course order, with its latest outcome."""
    outcomes = outcomes if isinstance(outcomes, dict) else {}
    rows = []
    for chapter in sorted(catalog):
        for item in catalog[chapter]:
            status, when = _outcome(outcomes.get(item["name"]))
            rows.append(ScoreRow(chapter, item["name"], item.get("kind", "build"),
                                 float(item.get("points", 0)), status, when))
    return rows


def chapter_summaries(rows: list[ScoreRow]) -> list[ChapterSummary]:
    """Per chapter, in course order: counts per status, what to revisit, what is untried."""
    found: dict[str, ChapterSummary] = {}
    for row in rows:
        summary = found.setdefault(row.chapter, ChapterSummary(row.chapter,
                                                               dict.fromkeys(STATUSES, 0)))
        summary.counts[row.status] += 1
        if row.status == WRONG:
            summary.revisit.append(row.name)
        elif row.status == NOT_ATTEMPTED:
            summary.untried.append(row.name)
    return list(found.values())


def _when(iso: str) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM', or '' if there is none."""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return ""


def _revisit_text(summary: ChapterSummary, limit: int = 3) -> str:
    """'revisit: a, b (+2 more)', or what is left to try, or 'all done'."""
    if summary.revisit:
        names = summary.revisit[:limit]
        more = len(summary.revisit) - len(names)
        return "revisit: " + ", ".join(names) + (f" (+{more} more)" if more else "")
    if summary.untried:
        return f"{len(summary.untried)} not attempted yet"
    return "all done"


def render_score_card(outcomes: dict, catalog: dict, note: str = "") -> Figure:
    """One row per chapter, one cell per exercise coloured by its latest outcome, the count
    done per chapter and what to revisit. `note` (e.g. why the progress file could not be
    read) is shown as the subtitle."""
    summaries = chapter_summaries(score_rows(outcomes, catalog))
    rows_by_chapter = {}
    for row in score_rows(outcomes, catalog):
        rows_by_chapter.setdefault(row.chapter, []).append(row)
    widest = max((len(r) for r in rows_by_chapter.values()), default=1)
    fig, ax = plt.subplots(figsize=(12, 1.4 + 0.34 * max(len(summaries), 1)))
    ax.set_xlim(-0.2, widest + 0.1)
    ax.set_ylim(max(len(summaries), 1) - 0.5, -0.5)
    ax.set_yticks(range(len(summaries)), [s.chapter for s in summaries], fontsize=8)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for y, summary in enumerate(summaries):
        for x, row in enumerate(rows_by_chapter[summary.chapter]):
            ax.add_patch(Rectangle((x, y - 0.35), 0.85, 0.7, color=COLORS[row.status], lw=0))
        ax.annotate(f"{summary.done}/{summary.total}  {_revisit_text(summary)}",
                    xy=(1.01, y), xycoords=("axes fraction", "data"), va="center", fontsize=8,
                    color=COLORS[WRONG] if summary.revisit else "0.2")
    if not summaries:
        ax.text(0.5, 0.5, "no exercises are catalogued", ha="center", va="center",
                transform=ax.transAxes)
    done = sum(s.done for s in summaries)
    total = sum(s.total for s in summaries)
    title = f"Score card: {done} of {total} exercises done (passed or written)"
    ax.set_title(title + (f"\n{note}" if note else ""), fontsize=10, loc="left")
    handles = [Patch(color=COLORS[s], label=LABELS[s]) for s in STATUSES]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, 0.0), ncol=4,
              fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.16, right=0.62, top=1 - 0.75 / fig.get_figheight(),
                        bottom=0.45 / fig.get_figheight())
    return fig


def score_card_html(outcomes: dict, catalog: dict, note: str = "") -> str:
    """The per-exercise table: one foldable block per chapter (open where something is
    wrong), each exercise with its kind, latest outcome and time."""
    rows = score_rows(outcomes, catalog)
    parts = []
    if note:
        parts.append(f"<p><b>{html.escape(note)}</b></p>")
    by_chapter: dict[str, list[ScoreRow]] = {}
    for row in rows:
        by_chapter.setdefault(row.chapter, []).append(row)
    for summary in chapter_summaries(rows):
        is_open = " open" if summary.revisit else ""
        parts.append(f"<details{is_open}><summary><code>{html.escape(summary.chapter)}</code>: "
                     f"{summary.done}/{summary.total} done, "
                     f"{html.escape(_revisit_text(summary, limit=10))}</summary>")
        parts.append("<table><tr><th>exercise</th><th>kind</th><th>latest outcome</th>"
                     "<th>when</th></tr>")
        for row in by_chapter[summary.chapter]:
            color = COLORS[row.status] if row.status != NOT_ATTEMPTED else "#777777"
            parts.append(f"<tr><td><code>{html.escape(row.name)}</code></td>"
                         f"<td>{KIND_NAMES.get(row.kind, html.escape(row.kind))}</td>"
                         f"<td style='color:{color}'>{row.status}</td>"
                         f"<td>{_when(row.time)}</td></tr>")
        parts.append("</table></details>")
    if not rows:
        parts.append("<p>No exercises are catalogued.</p>")
    return "\n".join(parts)


def show_score_card(path=None) -> None:
    """Read the progress file (lessonlib.checks.progress) and the catalog, display the card
    and the table. An unreadable or missing file shows an empty card with its note."""
    from IPython.display import HTML, display

    from lessonlib.checks.progress import catalog, load_progress, progress_path

    outcomes, note = load_progress(path)
    where = path or progress_path()
    if not note:
        note = f"From {where}; stays on this computer."
    fig = render_score_card(outcomes, catalog(), note)
    display(fig)
    plt.close(fig)
    display(HTML(score_card_html(outcomes, catalog())))

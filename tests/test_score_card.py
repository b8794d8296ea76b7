"""The score card of the review chapter: rows, summaries, figure and table from the progress
file and the catalog; a missing or corrupt file gives an empty card with a note, never an
error."""

from __future__ import annotations

import json

import matplotlib
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from lessonlib.checks import progress
from lessonlib.checks.core import PublicCheck, Wrong
from lessonlib.views import score_card as sc

CATALOG = {
    "ch03_elbo": [
        {"name": "kl_standard_normal", "grade_id": "kl_standard_normal", "kind": "build",
         "points": 3.0},
        {"name": "derivation_kl", "grade_id": "derivation_kl", "kind": "written", "points": 3.0},
        {"name": "quiz ch03/q1", "grade_id": "answer_q1", "kind": "quiz", "points": 1.0},
    ],
    "ch00_latent_spaces": [
        {"name": "compression_ratio", "grade_id": "compression_ratio", "kind": "build",
         "points": 2.0},
    ],
}
OUTCOMES = {
    "kl_standard_normal": {"status": "wrong", "time": "2026-03-04T05:06:07"},
    "derivation_kl": {"status": "written", "time": "2026-03-04T05:10:00"},
    "compression_ratio": {"status": "passed", "time": "2026-03-01T09:00:00"},
    "not_in_the_catalog": {"status": "passed", "time": "2026-03-01T09:00:00"},
}


@pytest.fixture(autouse=True)
def _agg_backend():
    matplotlib.use("Agg")


def _cell_colors(fig) -> list[str]:
    return [to_hex(p.get_facecolor()) for p in fig.axes[0].patches if isinstance(p, Rectangle)]


def test_rows_join_outcomes_and_catalog_in_course_order():
    rows = sc.score_rows(OUTCOMES, CATALOG)
    assert [(r.chapter, r.name, r.status) for r in rows] == [
        ("ch00_latent_spaces", "compression_ratio", "passed"),
        ("ch03_elbo", "kl_standard_normal", "wrong"),
        ("ch03_elbo", "derivation_kl", "written"),
        ("ch03_elbo", "quiz ch03/q1", "not attempted"),  # never run: not attempted, no time
    ]
    assert rows[1].time == "2026-03-04T05:06:07" and rows[3].time == ""
    assert rows[1].points == 3.0 and rows[2].kind == "written"


def test_unreadable_entries_count_as_not_attempted():
    junk = {"kl_standard_normal": "passed", "derivation_kl": {"status": "excellent"},
            "compression_ratio": {"status": "passed", "time": 12}}
    rows = {r.name: r for r in sc.score_rows(junk, CATALOG)}
    assert rows["kl_standard_normal"].status == "not attempted"
    assert rows["derivation_kl"].status == "not attempted"
    assert rows["compression_ratio"].status == "passed" and rows["compression_ratio"].time == ""
    assert all(r.status == "not attempted" for r in sc.score_rows(None, CATALOG))


def test_summaries_count_and_name_what_to_revisit():
    ch00, ch03 = sc.chapter_summaries(sc.score_rows(OUTCOMES, CATALOG))
    assert (ch00.chapter, ch00.done, ch00.total) == ("ch00_latent_spaces", 1, 1)
    assert ch03.counts == {"passed": 0, "written": 1, "wrong": 1, "not attempted": 1}
    assert (ch03.done, ch03.total) == (1, 3)
    assert ch03.revisit == ["kl_standard_normal"] and ch03.untried == ["quiz ch03/q1"]
    assert sc._revisit_text(ch03) == "revisit: kl_standard_normal"
    assert sc._revisit_text(ch00) == "all done"


def test_the_figure_has_one_cell_per_exercise_coloured_by_outcome():
    fig = sc.render_score_card(OUTCOMES, CATALOG, "a note")
    colors = _cell_colors(fig)
    want = [sc.COLORS[s] for s in ("passed", "wrong", "written", "not attempted")]
    assert colors == want
    title = fig.axes[0].get_title(loc="left")
    assert "2 of 4 exercises done" in title and "a note" in title
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("revisit: kl_standard_normal" in t for t in texts)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == list(sorted(CATALOG))


@pytest.mark.parametrize("outcomes,catalog", [({}, CATALOG), ({}, {}), (OUTCOMES, {})])
def test_an_empty_card_is_still_a_card(outcomes, catalog):
    fig = sc.render_score_card(outcomes, catalog, "No progress recorded yet")
    assert "No progress recorded yet" in fig.axes[0].get_title(loc="left")
    assert set(_cell_colors(fig)) <= {sc.COLORS["not attempted"]}
    assert sc.score_card_html(outcomes, catalog, "note")  # a string, never an error


def test_the_table_lists_every_exercise_and_opens_chapters_to_revisit():
    text = sc.score_card_html(OUTCOMES, CATALOG)
    assert text.count("<tr><td>") == 4
    assert "<details open><summary><code>ch03_elbo</code>" in text
    assert "<details><summary><code>ch00_latent_spaces</code>" in text
    assert "2026-03-04 05:06" in text and "not attempted" in text
    tricky = {"ch99_x": [{"name": "<script>x</script>", "kind": "build", "points": 1.0}]}
    assert "<script>" not in sc.score_card_html({}, tricky, "<b>")


def _shown(monkeypatch) -> list:
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(objs))
    return shown


def test_show_reads_the_progress_file_written_by_the_checks(tmp_path, monkeypatch):
    path = tmp_path / progress.FILE_NAME
    monkeypatch.setenv("LESSONLIB_PROGRESS", str(path))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)

    def probe(fn):
        if fn(2) != 4:
            raise Wrong("double it")

    namespace = {"__name__": "__main__"}
    exec("def double(x):\n    return 2 * x\n", namespace)
    PublicCheck("compression_ratio", probe)(namespace["double"])  # records "passed"
    monkeypatch.setattr(progress, "catalog", lambda: CATALOG)
    shown = _shown(monkeypatch)
    sc.show_score_card()
    fig, table = shown
    assert sc.COLORS["passed"] in _cell_colors(fig)
    assert str(path) in fig.axes[0].get_title(loc="left")
    assert "passed" in table.data


@pytest.mark.parametrize("content", [None, "{not json", json.dumps({"outcomes": [1, 2]})])
def test_a_missing_or_corrupt_file_gives_an_empty_card_with_a_note(tmp_path, monkeypatch,
                                                                   content):
    path = tmp_path / progress.FILE_NAME
    if content is not None:
        path.write_text(content)
    monkeypatch.setattr(progress, "catalog", lambda: CATALOG)
    shown = _shown(monkeypatch)
    sc.show_score_card(path)
    fig, table = shown
    title = fig.axes[0].get_title(loc="left")
    assert ("No progress recorded yet" if content is None else "could not be read") in title
    assert set(_cell_colors(fig)) == {sc.COLORS["not attempted"]}
    assert "not attempted" in table.data


def test_the_course_catalog_renders():
    catalog = progress.catalog()
    assert "ch11_review" in catalog
    names = [item["name"] for item in catalog["ch11_review"]]
    assert "quiz ch11/q25" in names and "fix_causal_mask" in names
    assert "short_measured_lfq_usage" in names
    fig = sc.render_score_card({}, catalog)
    assert len(_cell_colors(fig)) == sum(len(v) for v in catalog.values())

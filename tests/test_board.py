"""The board view model: ranks, marks, footnotes and cells computed once, for both renderers."""

from __future__ import annotations

import pytest

from medteb.results import board as board_module
from medteb.results.board import COLUMNS, Board, BoardView, Cell, Column, Row
from medteb.results.leaderboard import Leaderboard
from medteb.results.site import Site

FIVE = {"CMedQAv1-reranking": .8, "CMedQAv2-reranking": .8, "MedTEB-Retrieval": .5,
        "MedTEB-Rerank": .6, "MedTEB-STS": .7}


def _board() -> Board:
    rows = [Row("A", "org/a", "r1", dict(FIVE), "Paper X", "reproduced", verified=True,
                qps=120.0, hardware="1x A100", batch_size=32, folder="org__a/r1"),
            Row("B", "org/b", "r1", {**FIVE, "MedTEB-STS": .9}, "Paper X", "reported",
                folder="org__b/r1"),
            Row("C", "org/c", "r1", {k: v for k, v in FIVE.items() if k != "MedTEB-STS"},
                "Other", "reported", qps=5.0, hardware="cpu", batch_size=1, folder="org__c/r1")]
    return Board("zero-shot", tuple(sorted(rows, key=Row.sort_key)))


def test_the_view_holds_ranks_marks_and_footnotes() -> None:
    view = BoardView.of(_board())
    labels = [c.label for c in view.columns]
    assert labels[:3] == ["Rank", "Model", "Params (Q/D)"]
    assert labels[-4:] == ["QPS", "Source", "Reproduced", "Post-cutoff Δ"]
    by_label = [dict(zip(labels, r.cells, strict=True)) for r in view.rows]
    assert [r.row.display_name for r in view.rows] == ["B", "A", "C"]
    assert [r.rank for r in view.rows] == [1, 2, None]  # C has no Avg: no rank
    assert [c["STS"].mark for c in by_label] == ["best", "second", None]
    assert by_label[2]["STS"] == Cell("–")
    # B 90 on STS: Avg (80+80+50+60+90)/5 = 72; A: 68
    assert [c["Avg"].text for c in by_label[:2]] == ["72.00", "68.00"]
    assert by_label[1]["QPS"] == Cell("120.0", "120.0", note="(a)", title="1x A100, batch 32")
    assert by_label[2]["QPS"].note == "(b)"
    assert by_label[1]["Source"].text == "reproduced, verified"
    assert by_label[1]["Source"].short == "verified" and by_label[2]["Source"].note == "[2]"
    assert view.summary == "3 models, 2 with all five tasks."
    assert view.footnotes() == [("[1]", "Paper X"), ("[2]", "Other"),
                                ("(a)", "QPS measured on 1x A100, batch 32"),
                                ("(b)", "QPS measured on cpu, batch 1"),
                                ("§", "No entry here has per-query data (numbers copied "
                                      "from a publication, or submitted without --predictions): "
                                      "shown without intervals, never marked tied with or "
                                      "separated from the first.")]
    assert "Rank 95%" not in [c.label for c in view.columns]  # no row has per-query data


def test_a_column_is_one_declaration_both_renderers_show(
        monkeypatch: pytest.MonkeyPatch) -> None:
    board = _board()
    leaderboard = Leaderboard((board,), figure=None)
    site = Site(leaderboard, {"zero-shot": "too few models"}, ())
    before_md, before_html = leaderboard.to_markdown(), site.to_html()
    extra = Column("Interval", lambda ctx: Cell(f"±{len(ctx.row.display_name)}",
                                                  "1", note="(z)", title="width"))
    monkeypatch.setattr(board_module, "COLUMNS", (*COLUMNS, extra))
    markdown, page = leaderboard.to_markdown(), site.to_html()
    assert markdown != before_md and page != before_html
    assert "| Reproduced | Post-cutoff Δ | Interval |" in markdown and "|---|---:|" in markdown
    assert markdown.count("±1 (z) |") == 3
    assert '<button type="button">Interval</button>' in page
    assert page.count('<td data-value="1" title="width">±1 <sup>(z)</sup></td>') == 3

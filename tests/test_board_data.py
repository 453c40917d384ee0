"""The board's uncertainty in the data files: ``leaderboard.json`` and ``leaderboard.csv`` carry
the very intervals, rank intervals and ties that ``leaderboard.md`` and the page show."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import pytest

from medteb.benchmark.definitions import NEW_TASKS, SETTINGS
from medteb.results.board import BoardView, score_columns
from medteb.results.board_stats import data_score
from medteb.results.layout import SETTING_TITLES, load_entries
from medteb.results.leaderboard import Leaderboard
from medteb.results.site import build_site
from tests.results_helpers import five, write_entry, write_per_query

FIXTURES = Path(__file__).parent / "fixtures"
INTERVAL = re.compile(r"\[(-?\d+\.\d{2}), (-?\d+\.\d{2})\]")
NO_DATA = {"ci": {}, "rank_interval": None, "tied_with_first": None}


def _outputs(results: Path) -> tuple[str, dict, list[dict[str, str]], Leaderboard]:
    """``leaderboard.md``, ``leaderboard.json`` and ``leaderboard.csv`` of a results folder."""
    entries, _ = load_entries(results)
    site = build_site(entries)
    rows = list(csv.DictReader(io.StringIO(site.to_csv())))
    return (Leaderboard.from_entries(entries, figure=None).to_markdown(),
            json.loads(site.to_json())["boards"], rows, site.leaderboard)


def _split(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _markdown_boards(markdown: str) -> dict[str, list[dict[str, str]]]:
    """{setting: each table row as {column label: cell text}} of ``leaderboard.md``."""
    settings = {title: s for s, title in SETTING_TITLES.items()}
    boards = {}
    for section in markdown.split("\n## ")[1:]:
        title, _, body = section.partition("\n")
        lines = [line for line in body.splitlines() if line.startswith("| ")]
        header = _split(lines[0]) if lines else []
        boards[settings[title]] = [dict(zip(header, _split(line), strict=True))
                                   for line in lines[1:]]
    return boards


def _mismatches(rows: list[dict], shown: list[dict[str, str]], first: int | None) -> list:
    """Where the data files' rows disagree with the Markdown board's cells (``first``: the
    row the board's ``≈`` is relative to)."""
    out = []
    for i, (row, cells) in enumerate(zip(rows, shown, strict=True)):
        name = html.unescape(cells["Model"].replace("\\|", "|"))
        if name != row["model"]:
            out.append((i, "model", row["model"], name))
        for column in score_columns():
            found = INTERVAL.search(cells[column])
            text = None if found is None else [found[1], found[2]]
            ci = row["ci"].get(column)
            if (None if ci is None else [f"{v:.2f}" for v in ci]) != text:
                out.append((row["model"], column, ci, text))
        rank, _, note = cells.get("Rank 95%", "–").partition(" ")
        parts = [] if rank == "–" else [int(r) for r in rank.split("–")]
        bounds = [parts[0], parts[-1]] if parts else None
        if bounds != row["rank_interval"]:
            out.append((row["model"], "rank", row["rank_interval"], rank))
        tied = None if bounds is None else (note == "≈" or i == first)
        if tied != row["tied_with_first"]:
            out.append((row["model"], "tied", row["tied_with_first"], note))
    return out


def _csv_as_json(row: dict[str, str]) -> dict:
    """A CSV line's flat interval columns, read back into the JSON's shape."""
    ci = {c: [float(row[f"{c}_ci_low"]), float(row[f"{c}_ci_high"])]
          for c in score_columns() if row[f"{c}_ci_low"]}
    rank = row["rank_interval_best"], row["rank_interval_worst"]
    return {"model": row["model"], "ci": ci,
            "rank_interval": [int(r) for r in rank] if rank[0] else None,
            "tied_with_first": {"True": True, "False": False, "": None}[row["tied_with_first"]]}


def _firsts(leaderboard: Leaderboard) -> dict[str, int | None]:
    return {b.setting: None if b.statistics is None else b.statistics.first
            for b in leaderboard.boards}


def test_data_files_carry_the_boards_intervals() -> None:
    markdown, boards, lines, leaderboard = _outputs(FIXTURES / "results")
    shown, firsts = _markdown_boards(markdown), _firsts(leaderboard)
    for setting in SETTINGS:
        rows = boards[setting]
        assert _mismatches(rows, shown[setting], firsts[setting]) == [], setting
        from_csv = [_csv_as_json(r) for r in lines if r["setting"] == setting]
        assert from_csv == [{k: r[k] for k in from_csv[0]} for r in rows], setting
        # and exactly the board view's numbers, on the scores' scale and rounding
        view = BoardView.of(leaderboard.board(setting))
        stats = view.stats
        for i, row in enumerate(rows):
            assert row["ci"] == ({} if stats is None else {
                c: [data_score(lo), data_score(hi)] for (j, c), (lo, hi) in stats.ci.items()
                if j == i}), row["model"]
    zero = {r["model"]: r for r in boards["zero-shot"]}
    assert set(zero["delta"]["ci"]) == set(score_columns())  # every score column
    assert zero["delta"]["ci"]["Retrieval"][0] < zero["delta"]["Retrieval"] \
        < zero["delta"]["ci"]["Retrieval"][1]
    assert zero["delta"]["rank_interval"] == zero["alpha"]["rank_interval"] == [1, 2]
    assert zero["delta"]["tied_with_first"] is zero["alpha"]["tied_with_first"] is True
    fine = {r["model"]: r for r in boards["fine-tuned"]}  # eta-ft: separated from zeta
    assert (fine["zeta†"]["rank_interval"], fine["zeta†"]["tied_with_first"]) == ([1, 1], True)
    assert (fine["eta-ft"]["rank_interval"], fine["eta-ft"]["tied_with_first"]) == ([2, 2],
                                                                                  False)
    assert next(line for line in markdown.splitlines() if "| eta-ft |" in line).endswith("| 2 |")


def test_rows_without_per_query_data_have_no_interval() -> None:
    _, boards, lines, _ = _outputs(FIXTURES / "results")
    without = [r for rows in boards.values() for r in rows
               if r["model"] in ("gamma", "beta", "epsilon <b>|x</b>", "smoke")]
    assert len(without) == 4
    for row in without:
        assert {k: row[k] for k in NO_DATA} == NO_DATA, row["model"]
    beta = next(r for r in lines if r["model"] == "beta")
    assert beta["Avg"] == "67.8"  # its score is there, its interval cells are empty
    assert {k: v for k, v in beta.items() if "_ci_" in k or k.startswith(("rank_int", "tied"))} \
        == dict.fromkeys([*(f"{c}_ci_{e}" for c in score_columns() for e in ("low", "high")),
                          "rank_interval_best", "rank_interval_worst", "tied_with_first"], "")


def _board_of(results: Path, seeds: tuple[int, int], n: int) -> Path:
    first, second = five(0.80, 0.80, 0.50, 0.60, 0.70), five(0.78, 0.79, 0.49, 0.60, 0.68)
    for name, scores, seed in (("org/a", first, seeds[0]), ("org/b", second, seeds[1])):
        write_per_query(write_entry(results, name, "r1", scores), scores, seed=seed, n=n)
    sample = {t: 0.6 for t in NEW_TASKS}  # no Avg: task intervals, no rank interval
    write_per_query(write_entry(results, "org/c", "r1", sample, setting="sample"), sample,
                    seed=seeds[0], n=n)
    return results


def test_different_per_query_data_give_different_intervals(tmp_path: Path) -> None:
    one = _outputs(_board_of(tmp_path / "one", (1, 2), 200))
    two = _outputs(_board_of(tmp_path / "two", (3, 4), 120))
    for markdown, boards, _, leaderboard in (one, two):
        first = _firsts(leaderboard)["zero-shot"]
        assert _mismatches(boards["zero-shot"], _markdown_boards(markdown)["zero-shot"],
                           first) == []
    # the same scores, other queries: other intervals, and the comparison sees it
    assert [r["Avg"] for r in one[1]["zero-shot"]] == [r["Avg"] for r in two[1]["zero-shot"]]
    assert [r["ci"] for r in one[1]["zero-shot"]] != [r["ci"] for r in two[1]["zero-shot"]]
    assert _mismatches(one[1]["zero-shot"], _markdown_boards(two[0])["zero-shot"],
                       _firsts(two[3])["zero-shot"]) != []
    (sample,) = one[1]["sample"]
    assert set(sample["ci"]) == {"Retrieval", "Rerank", "STS", "New-task avg"}
    assert (sample["rank_interval"], sample["tied_with_first"]) == (None, None)
    assert _mismatches(one[1]["sample"], _markdown_boards(one[0])["sample"], None) == []


def test_statistics_are_computed_once_per_board(monkeypatch: pytest.MonkeyPatch) -> None:
    import medteb.results.rows as rows_module

    calls = []
    real = rows_module.board_stats

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(rows_module, "board_stats", counted)
    site = build_site(load_entries(FIXTURES / "results")[0])
    site.files()  # the page (table and footnotes), the JSON and the CSV
    site.leaderboard.to_markdown()
    assert len(calls) == 2  # zero-shot and fine-tuned; the sample board has no per-query data


def test_csv_header_is_the_same_without_rows() -> None:
    empty = build_site([]).to_csv()
    assert empty.count("\n") == 1
    full = build_site(load_entries(FIXTURES / "results")[0]).to_csv()
    assert full.splitlines()[0] == empty.rstrip("\n")
    assert empty.rstrip("\n").endswith(
        "New-task avg_ci_low,New-task avg_ci_high,rank_interval_best,rank_interval_worst,"
        "tied_with_first")

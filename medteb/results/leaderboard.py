"""The leaderboard: ``results/`` entries in, ``leaderboard.md`` text out (pure; no file writes).

>>> from medteb.results.layout import load_entries                    # doctest: +SKIP
>>> entries, _ = load_entries("results")                       # doctest: +SKIP
>>> print(Leaderboard.from_entries(entries).to_markdown())     # doctest: +SKIP

One board per setting (zero-shot, fine-tuned, sample): settings are never ranked together. Scores
are mteb's main scores shown on the paper's 0–100 scale with two decimals; averages are computed
from the unrounded task scores and only when every task of the group is present.

The rows, ranks, marks, cells and footnotes are :mod:`medteb.results.board`'s view model, which
the web page (:mod:`medteb.results.site`) renders too; this module is the Markdown renderer.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from medteb.benchmark.definitions import SETTINGS
from medteb.results.board import TASK_COLUMNS, Board, BoardView, Cell, Row, format_params
from medteb.results.layout import SETTING_TITLES, Entry

__all__ = ["FIGURE_NAME", "SETTING_NOTES", "TASK_COLUMNS", "Board", "Leaderboard", "Row",
           "format_params"]

FIGURE_NAME = "leaderboard"  # leaderboard.png / leaderboard.svg next to leaderboard.md

SETTING_NOTES = {
    "zero-shot": (
        "Models used as published: none of MedTEB's new tasks (Retrieval, Rerank, STS) is in "
        "their training data. Many public models have seen CMedQA's training split (the paper, "
        "Appendix B); each entry's `training_datasets` says so."
    ),
    "fine-tuned": (
        "Models fine-tuned on MedTEB's training splits (the paper, Section 5.1: retrieval, "
        "reranking, CMedQA and synonym STS). † marks asymmetric models (a small query encoder, "
        "a large document encoder)."
    ),
    "sample": (
        "Results computed on the small sample bundled with MedTEB (written by its contributors "
        "so that everything runs offline). They show that a submission works end to end; they "
        "are **not benchmark results** and are not comparable with the boards above."
    ),
}


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell: no HTML, no pipes, one line."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


@dataclass(frozen=True)
class Leaderboard:
    """The boards of all settings; :meth:`to_markdown` is ``leaderboard.md``."""

    boards: tuple[Board, ...]
    figure: str | None = FIGURE_NAME
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def from_entries(cls, entries: Iterable[Entry], figure: str | None = FIGURE_NAME
                     ) -> Leaderboard:
        """Group entries by setting and sort each board (stable, by Avg then name)."""
        rows: dict[str, list[Row]] = {s: [] for s in SETTINGS}
        for entry in entries:
            rows[entry.setting].append(Row.from_entry(entry))
        return cls(tuple(Board(s, tuple(sorted(rows[s], key=Row.sort_key))) for s in SETTINGS),
                   figure=figure)

    def board(self, setting: str) -> Board:
        """The board of one setting."""
        return next(b for b in self.boards if b.setting == setting)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (scores 0–100, unrounded) for JSON: each board's :meth:`Row.to_dict`."""
        return {b.setting: [r.to_dict(rank) for r, rank in zip(b.rows, b.ranks(), strict=True)]
                for b in self.boards}

    def to_markdown(self) -> str:
        """``leaderboard.md``: deterministic (stable order, fixed formatting)."""
        lines = [
            "# MedTEB leaderboard", "",
            "<!-- Generated from results/ by `medteb leaderboard`; do not edit by hand. -->", "",
            "Main scores on a 0–100 scale: CMedQA-v1/v2 and Rerank MAP, Retrieval nDCG@10, STS "
            "Pearson (cosine). **Bold**: best in its column on that board; <u>underlined</u>: "
            "second best. Avg: mean of the five tasks; CMedQA avg: v1 and v2; New-task avg: "
            "Retrieval, Rerank and STS. \"–\": not evaluated (a model missing a task gets no "
            "average and no rank). QPS: queries encoded per second, where measured "
            "(`MedTEB-Speed.json`). Source: *reported* numbers are copied from a publication; "
            "*reproduced* ones were computed with `medteb run` and added with `medteb submit` "
            "(*verified*: its main scores were recomputed from the run's predictions). "
            "Settings are different experiments and are never ranked together.", "",
        ]
        if self.figure:
            lines += [f"![Average score against query-encoder parameters]({self.figure}.png) "
                      f"([SVG]({self.figure}.svg))", ""]
        for board in self.boards:
            lines += self._board_markdown(board)
        return "\n".join(lines).rstrip("\n") + "\n"

    @staticmethod
    def _board_markdown(board: Board) -> list[str]:
        lines = [f"## {SETTING_TITLES[board.setting]}", "", SETTING_NOTES[board.setting], ""]
        if not board.rows:
            return [*lines, "No results yet.", ""]
        view = BoardView.of(board)
        lines += [view.summary, ""]
        lines += ["| " + " | ".join(c.label for c in view.columns) + " |",
                  "|" + "".join("---:|" if c.align == "right" else "---|"
                                for c in view.columns)]
        lines += ["| " + " | ".join(_markdown_cell(c) for c in row.cells) + " |"
                  for row in view.rows]
        lines.append("")
        lines += [f"{marker} {_cell(text)}  " for marker, text in view.footnotes()]
        lines[-1] = lines[-1].rstrip()
        return [*lines, ""]


def _markdown_cell(cell: Cell) -> str:
    text = _cell(cell.text)
    if cell.mark == "best":
        text = f"**{text}**"
    elif cell.mark == "second":
        text = f"<u>{text}</u>"
    return f"{text} {cell.note}" if cell.note else text

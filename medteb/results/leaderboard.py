"""The leaderboard: ``results/`` entries in, ``leaderboard.md`` text out (pure; no file writes).

>>> from medteb.results.layout import load_entries                    # doctest: +SKIP
>>> entries, _ = load_entries("results")                       # doctest: +SKIP
>>> print(Leaderboard.from_entries(entries).to_markdown())     # doctest: +SKIP

One board per setting (zero-shot, fine-tuned, sample): settings are never ranked together. The
zero-shot and fine-tuned boards show one release of the data (an entry's release is read from
its results' dataset revisions, ``release-V-<hash>``; the paper's data is :data:`UNRELEASED`):
the latest by default, another with ``release=``; releases are never ranked together. Scores
are mteb's main scores shown on the paper's 0–100 scale with two decimals; averages are computed
from the unrounded task scores and only when every task of the group is present.

The rows, ranks, marks, cells and footnotes are :mod:`medteb.results.board`'s view model, which
the web page (:mod:`medteb.results.site`) renders too; this module is the Markdown renderer.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from medteb.benchmark.definitions import SETTINGS
from medteb.errors import MedtebError
from medteb.results.board import TASK_COLUMNS, Board, BoardView, Cell, Row, format_params
from medteb.results.board_stats import row_intervals
from medteb.results.layout import SETTING_TITLES, Entry

#: the heading of the leaderboard (Markdown and page)
TITLE = "MedTEB leaderboard"

__all__ = ["FIGURE_NAME", "SETTING_NOTES", "TASK_COLUMNS", "UNRELEASED", "Board", "Leaderboard",
           "Row", "UnknownReleaseError", "format_params", "release_order"]

#: the release name of results on the data of the paper (no versioned release; its results'
#: dataset revision is the word ``unreleased``), the oldest of all
UNRELEASED = "unreleased"

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


#: leaderboard.md's note when a board shows an entry scored on hidden labels
HIDDEN_LABELS_NOTE = (
    "*Hidden labels*: the maintainer scored these tasks of the entry on labels that are not "
    "published (`medteb submit --labels`), from the participant's predictions; their "
    "intervals were computed by the maintainer from per-query scores that stay private (they "
    "would publish the labels), so the entry's averages and rank have none.")


class UnknownReleaseError(MedtebError, KeyError):
    """A ``--release`` that no entry of the results folder was computed on."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        known = list(known)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(f"no result in results/ is on release {name!r}.{hint} Releases with "
                         f"results: {', '.join(known) or 'none'}")

    def __str__(self) -> str:
        return self.args[0]


def release_order(releases: Iterable[str]) -> list[str]:
    """Releases oldest first: :data:`UNRELEASED`, then versions in natural order (``2026.2``
    before ``2026.10``)."""
    def key(v: str) -> tuple:
        parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                      for p in re.split(r"(\d+)", v) if p)
        return (v != UNRELEASED, parts)
    return sorted(set(releases), key=key)


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell: no HTML, no pipes, one line."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


@dataclass(frozen=True)
class Leaderboard:
    """The boards of all settings; :meth:`to_markdown` is ``leaderboard.md``."""

    boards: tuple[Board, ...]
    figure: str | None = FIGURE_NAME
    notes: tuple[str, ...] = field(default=())
    release: str = UNRELEASED  # the release of the zero-shot and fine-tuned boards
    releases: tuple[str, ...] = ()  # every release with results there, oldest first
    title: str = TITLE  # the heading of leaderboard.md and of the page

    @classmethod
    def from_entries(cls, entries: Iterable[Entry], figure: str | None = FIGURE_NAME,
                     release: str | None = None, title: str = TITLE) -> Leaderboard:
        """Group entries by setting and sort each board (stable, by Avg then name).

        Args:
            release: the release whose zero-shot and fine-tuned results are shown (default:
                the latest with results); the sample board shows every sample result.
            title: the heading (a private board of one's runs says *not submitted*).

        Raises:
            UnknownReleaseError: no benchmark result is on ``release``.
        """
        entries = list(entries)
        ranked = [e for e in entries if e.setting != "sample"]
        releases = tuple(release_order(e.release or UNRELEASED for e in ranked))
        if release is not None and release not in releases:
            raise UnknownReleaseError(release, releases)
        chosen = release or (releases[-1] if releases else UNRELEASED)
        rows: dict[str, list[Row]] = {s: [] for s in SETTINGS}
        for entry in entries:
            if entry.setting == "sample" or (entry.release or UNRELEASED) == chosen:
                rows[entry.setting].append(Row.from_entry(entry))
        return cls(tuple(Board(s, tuple(sorted(rows[s], key=Row.sort_key))) for s in SETTINGS),
                   figure=figure, release=chosen, releases=releases, title=title)

    @property
    def release_note(self) -> str | None:
        """Which release the boards show and which others exist; None when every result is on
        the paper's data (nothing to choose)."""
        if self.releases in ((), (UNRELEASED,)):
            return None
        shown = ("the paper's test data (no versioned release)" if self.release == UNRELEASED
                 else f"release {self.release} (dataset revisions release-{self.release}-…)")
        others = [r for r in self.releases if r != self.release]
        note = (f"Release: the Zero-shot and Fine-tuned boards show results on {shown}; "
                "results on different releases are never ranked together.")
        if others:
            note += (f" Other releases with results: {', '.join(others)} (`medteb leaderboard "
                     "--release V` shows one).")
        return note

    def board(self, setting: str) -> Board:
        """The board of one setting."""
        return next(b for b in self.boards if b.setting == setting)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (scores 0–100) for JSON: each board's :meth:`Row.to_dict`, with the row's
        intervals as the board shows them (:func:`~medteb.results.board_stats.row_intervals`)."""
        return {b.setting: [{**r.to_dict(rank), **row_intervals(b.statistics, i, r.hidden_columns)}
                            for i, (r, rank) in enumerate(zip(b.rows, b.ranks(), strict=True))]
                for b in self.boards}

    def to_markdown(self) -> str:
        """``leaderboard.md``: deterministic (stable order, fixed formatting)."""
        lines = [
            f"# {self.title}", "",
            "<!-- Generated from results/ by `medteb leaderboard`; do not edit by hand. -->", "",
            "Main scores on a 0–100 scale: CMedQA-v1/v2 and Rerank MAP, Retrieval nDCG@10, STS "
            "Pearson (cosine). **Bold**: best in its column on that board; <u>underlined</u>: "
            "second best. Avg: mean of the five tasks; CMedQA avg: v1 and v2; New-task avg: "
            "Retrieval, Rerank and STS. \"–\": not evaluated (a model missing a task gets no "
            "average and no rank). QPS: queries encoded per second, where measured "
            "(`MedTEB-Speed.json`). Source: *reported* numbers are copied from a publication; "
            "*reproduced* ones were computed with `medteb run` and added with `medteb submit` "
            "(*verified*: its main scores were recomputed from the run's predictions). "
            "Settings are different experiments and are never ranked together. Reproduced: the "
            "day and hardware of the entry's latest `medteb reproduce`, whose main scores all "
            "came within 0.001 (`reproductions.yaml`). Post-cutoff Δ: Retrieval score on a "
            "release's queries dated after the model's release date minus on those before, "
            "with its 95% bootstrap interval (\"–\": unknown date, or a slice under 30 "
            "queries).", "",
        ]
        if self.release_note:
            lines += [_cell(self.release_note), ""]
        if any(r.hidden_labels for b in self.boards for r in b.rows):
            lines += [HIDDEN_LABELS_NOTE, ""]
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

"""The leaderboard: ``results/`` entries in, ``leaderboard.md`` text out (pure; no file writes).

>>> from medteb.results.layout import load_entries                    # doctest: +SKIP
>>> entries, _ = load_entries("results")                       # doctest: +SKIP
>>> print(Leaderboard.from_entries(entries).to_markdown())     # doctest: +SKIP

One board per setting (zero-shot, fine-tuned, sample): settings are never ranked together. Scores
are mteb's main scores shown on the paper's 0–100 scale with two decimals; averages are computed
from the unrounded task scores and only when every task of the group is present.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from medteb.benchmark.definitions import AVERAGES, BENCHMARK_ORDER, SETTINGS, paper_averages
from medteb.results.layout import SETTING_TITLES, Entry

#: column label of each task, in the paper's order
TASK_COLUMNS = dict(zip(BENCHMARK_ORDER, ("CMedQA-v1", "CMedQA-v2", "Retrieval", "Rerank", "STS"),
                        strict=True))
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


def format_params(n: int | None) -> str:
    """A parameter count, written one way everywhere (tables, site, figure axes).

    Three significant digits, trailing zeros dropped, with K, M or B: ``24000000`` -> ``24M``,
    ``4020000000`` -> ``4.02B``, ``111840`` -> ``112K``, ``0`` -> ``0``; None -> ``–``.
    """
    if n is None:
        return "–"
    value = float(f"{n:.3g}")  # round first, so 999,999 becomes 1M rather than 1000K
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}"


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell: no HTML, no pipes, one line."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


@dataclass(frozen=True)
class Row:
    """One model revision on one board. Scores are 0–1, keyed by task name."""

    display_name: str
    model_name: str
    revision: str
    scores: dict[str, float]
    source: str
    provenance: str
    verified: bool = False
    params_query: int | None = None
    params_document: int | None = None
    qps: float | None = None
    hardware: str | None = None
    batch_size: int | None = None
    folder: str = ""
    reference: str | None = None

    @classmethod
    def from_entry(cls, entry: Entry) -> Row:
        """The row of a loaded ``results/`` entry."""
        sub = entry.submission
        speed = entry.speed.measurement if entry.speed else None
        return cls(
            display_name=sub.display_name, model_name=entry.model_name, revision=entry.revision,
            scores=dict(entry.scores), source=sub.source, provenance=sub.provenance,
            verified=sub.verified, params_query=sub.n_parameters_query,
            params_document=sub.n_parameters_document,
            qps=speed.qps if speed else None, hardware=speed.hardware if speed else None,
            batch_size=speed.batch_size if speed else None, folder=entry.folder,
            reference=entry.reference,
        )

    @property
    def asymmetric(self) -> bool:
        """A query encoder and a different-sized document encoder (both sizes known)."""
        return (None not in (self.params_query, self.params_document)
                and self.params_query != self.params_document)

    @property
    def source_kind(self) -> str:
        """``reported``, ``reproduced`` or ``verified`` (reproduced and recomputed)."""
        return "verified" if self.verified else self.provenance

    @property
    def speed_setting(self) -> str | None:
        """Where QPS was measured: ``1x NVIDIA A100 80GB, batch 32``; None when not measured."""
        return None if self.qps is None else f"{self.hardware}, batch {self.batch_size}"

    @property
    def params_text(self) -> str:
        """The Params (Q/D) cell: ``305M / 4.02B``."""
        return f"{format_params(self.params_query)} / {format_params(self.params_document)}"

    def average(self, column: str) -> float | None:
        """One of the paper's :data:`~medteb.benchmark.definitions.AVERAGES` (0–1), None
        unless all its tasks are present."""
        return paper_averages(self.scores)[column]

    def values(self) -> dict[str, float | None]:
        """Every score column, 0–1: the five tasks, then the three averages."""
        out: dict[str, float | None] = {c: self.scores.get(t) for t, c in TASK_COLUMNS.items()}
        out.update(paper_averages(self.scores))
        return out

    def to_dict(self, rank: int | None = None) -> dict[str, Any]:
        """Plain data, one key per column of the data files.

        Scores are on the 0–100 scale, rounded to 6 decimals (far below the 2 shown; it drops
        float noise such as ``50.13999999999999``); averages use the unrounded scores.
        """
        return {
            "rank": rank, "model": self.display_name, "model_name": self.model_name,
            "revision": self.revision, "params_query": self.params_query,
            "params_document": self.params_document, "asymmetric": self.asymmetric,
            **{k: None if v is None else round(100 * v, 6) for k, v in self.values().items()},
            "qps": self.qps, "batch_size": self.batch_size, "hardware": self.hardware,
            "source": self.source, "provenance": self.provenance, "verified": self.verified,
            "folder": self.folder, "reference": self.reference,
        }

    def sort_key(self) -> tuple[Any, ...]:
        avg = self.average("Avg")
        return (avg is None, -(avg or 0.0), self.display_name, self.model_name, self.revision)


@dataclass(frozen=True)
class Board:
    """The rows of one setting, best average first."""

    setting: str
    rows: tuple[Row, ...] = ()

    def ranks(self) -> list[int | None]:
        """Each row's rank by Avg (rows are sorted); None for a row without an Avg."""
        ranks: list[int | None] = []
        rank = 0
        for row in self.rows:
            complete = row.average("Avg") is not None
            rank += complete
            ranks.append(rank if complete else None)
        return ranks

    def marks(self) -> dict[str, tuple[float | None, float | None]]:
        """Best and second-best displayed value (rounded to 0.01 on 0–100) of each column."""
        result = {}
        for column in [*TASK_COLUMNS.values(), *AVERAGES]:
            shown = sorted({round(100 * v, 2) for r in self.rows
                            if (v := r.values()[column]) is not None}, reverse=True)
            result[column] = (shown[0] if shown else None, shown[1] if len(shown) > 1 else None)
        return result


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
        n = len(board.rows)
        lines = [f"## {SETTING_TITLES[board.setting]}", "", SETTING_NOTES[board.setting], ""]
        if not board.rows:
            return [*lines, "No results yet.", ""]
        complete = sum(r.average("Avg") is not None for r in board.rows)
        lines += [f"{n} model{'s' * (n != 1)}, {complete} with all five tasks.", ""]
        score_columns = [*TASK_COLUMNS.values(), *AVERAGES]
        header = ["Rank", "Model", "Params (Q/D)", *score_columns, "QPS", "Source"]
        lines += ["| " + " | ".join(header) + " |",
                  "|---:|---|---|" + "---:|" * (len(score_columns) + 1) + "---|"]
        marks = board.marks()
        sources: list[str] = []
        hardware: list[str] = []
        for row, rank in zip(board.rows, board.ranks(), strict=True):
            cells = ["–" if rank is None else str(rank), _cell(row.display_name),
                     row.params_text]
            for column, value in row.values().items():
                cells.append(_score(value, marks[column]))
            if row.qps is not None:
                label = row.speed_setting
                if label not in hardware:
                    hardware.append(label)
                cells.append(f"{row.qps:.1f} ({chr(ord('a') + hardware.index(label))})")
            else:
                cells.append("–")
            if row.source not in sources:
                sources.append(row.source)
            kind = row.provenance + (", verified" if row.verified else "")
            cells.append(f"{kind} [{sources.index(row.source) + 1}]")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines += [f"[{i}] {_cell(s)}  " for i, s in enumerate(sources, start=1)]
        lines += [f"({chr(ord('a') + i)}) QPS measured on {_cell(h)}  "
                  for i, h in enumerate(hardware)]
        lines[-1] = lines[-1].rstrip()
        return [*lines, ""]


def _score(value: float | None, marks: tuple[float | None, float | None]) -> str:
    if value is None:
        return "–"
    shown = round(100 * value, 2)
    text = f"{shown:.2f}"
    if shown == marks[0]:
        return f"**{text}**"
    if shown == marks[1]:
        return f"<u>{text}</u>"
    return text

"""The rows of a board: one :class:`Row` per results entry (its scores, parameters, speed,
marks' inputs) and :class:`Board`, one setting's rows best first. What a reader sees of them —
cells, columns, footnotes — is :mod:`medteb.results.board`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from medteb.benchmark.definitions import AVERAGES, BENCHMARK_ORDER, paper_averages
from medteb.results.board_stats import board_stats, entry_per_query
from medteb.results.layout import Entry

if TYPE_CHECKING:
    from medteb.analysis.perquery import PerQuery
    from medteb.results.board_stats import BoardStats

#: column label of each task, in the paper's order
TASK_COLUMNS = dict(zip(BENCHMARK_ORDER, ("CMedQA-v1", "CMedQA-v2", "Retrieval", "Rerank", "STS"),
                        strict=True))

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
    # issue 23: each scored task's training-data overlap mark (medteb.results.overlap)
    overlap: dict[str, str] = field(default_factory=dict)
    # issue 24: the latest `medteb reproduce` that matched, (day, hardware); None when none
    reproduced: tuple[str, str] | None = None
    # issue 23: task -> medteb.release.postcutoff.PostCutoff on the entry's release
    post_cutoff: dict[str, Any] = field(default_factory=dict)
    # issue 24: the tasks the maintainer scored on labels that are not published, with the
    # intervals stored for them (their per-query scores stay private)
    hidden_labels: tuple[str, ...] = ()
    hidden_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    # {task: per-query scores} stored with the entry (``medteb submit --predictions``)
    per_query: dict[str, PerQuery] = field(default_factory=dict, compare=False, repr=False)

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
            reference=entry.reference, overlap=dict(entry.overlap),
            reproduced=entry.reproduced, post_cutoff=dict(entry.post_cutoff),
            per_query=entry_per_query(entry), hidden_labels=tuple(sub.hidden_labels),
            hidden_intervals={t: h.interval for t, h in sub.hidden_labels.items()},
        )

    @property
    def hidden_columns(self) -> dict[str, tuple[float, float]]:
        """{score column: stored interval} of the tasks scored on hidden labels."""
        return {TASK_COLUMNS[t]: iv for t, iv in self.hidden_intervals.items()}

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
            "hidden_labels": list(self.hidden_labels),
            "folder": self.folder, "reference": self.reference,
            "training_overlap": {t: self.overlap[t] for t in BENCHMARK_ORDER
                                 if t in self.overlap},
            "reproduced_on": self.reproduced[0] if self.reproduced else None,
            "reproduced_hardware": self.reproduced[1] if self.reproduced else None,
            "post_cutoff": {t: c.to_dict() for t, c in self.post_cutoff.items()},
        }

    def sort_key(self) -> tuple[Any, ...]:
        avg = self.average("Avg")
        return (avg is None, -(avg or 0.0), self.display_name, self.model_name, self.revision)


@dataclass(frozen=True)
class Board:
    """The rows of one setting, best average first."""

    setting: str
    rows: tuple[Row, ...] = ()

    @cached_property
    def statistics(self) -> BoardStats | None:
        """The board's intervals (seeded: the same every time), or None when no row has
        per-query data. Computed once per board: ``leaderboard.md``, the page and the data
        files read the same numbers."""
        if not any(row.per_query for row in self.rows):
            return None
        return board_stats([row.per_query for row in self.rows], TASK_COLUMNS)

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

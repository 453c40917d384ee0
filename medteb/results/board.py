"""The board view model: what one board shows, rendered by ``leaderboard.md`` and the web page.

A :class:`~medteb.results.leaderboard.Board` holds one setting's rows; :class:`BoardView` turns
it into what a reader sees: each row's rank, one :class:`Cell` per column (its text, its sort
value, its best / second mark, its footnote), and the board's footnotes. The two renderers
(:meth:`~medteb.results.leaderboard.Leaderboard.to_markdown` and :mod:`medteb.results.site`)
only format cells; they compute nothing.

A column is one declaration in :data:`COLUMNS`: its label, how it sorts and aligns, and the
function that makes its cell from a row (:class:`RowContext` gives the row, its rank, the
board's marks and the footnote numbering). Both renderers show every column of the tuple.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from medteb.benchmark.definitions import AVERAGES, BENCHMARK_ORDER, paper_averages
from medteb.results.board_stats import entry_per_query, stats_footnotes
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
            reference=entry.reference, per_query=entry_per_query(entry),
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
class Cell:
    """One table cell, before formatting.

    Attributes:
        text: what is shown ("–" for a missing value).
        sort: the site's sort value (``data-value``); "" sorts as missing.
        mark: ``"best"`` or ``"second"`` in its column on this board, else None.
        note: a footnote marker shown after the text (``"(a)"``, ``"[1]"``).
        title: a tooltip on the page.
        link: an external link on the page; ``results_path``: a link below the site's results
            base (``<results_url>/<results_path>``).
        sub: a second line on the page (the model's id under its display name).
        short: the page's text when shorter than ``text`` (the full one is the tooltip's).
    """

    text: str
    sort: str = ""
    mark: Literal["best", "second"] | None = None
    note: str | None = None
    title: str | None = None
    link: str | None = None
    results_path: str | None = None
    sub: str | None = None
    short: str | None = None


@dataclass(frozen=True)
class RowContext:
    """What a column's cell function may read: the row, its rank and the board's view."""

    row: Row
    rank: int | None
    marks: dict[str, tuple[float | None, float | None]]
    sources: tuple[str, ...]
    hardware: tuple[str, ...]
    index: int = 0  # the row's position on the board
    stats: BoardStats | None = None  # intervals, when some row has per-query data

    def interval(self, column: str) -> tuple[float, float] | None:
        """The row's 95% interval (0–1) of a score column, if it has one."""
        return None if self.stats is None else self.stats.ci.get((self.index, column))


@dataclass(frozen=True)
class Column:
    """One column of the board: a label, a sort type, an alignment and its cell function."""

    label: str
    cell: Callable[[RowContext], Cell]
    kind: Literal["num", "text"] = "num"
    first: Literal["asc", "desc"] = "desc"  # the site's first sort direction
    align: Literal["left", "right"] = "right"  # in leaderboard.md
    css: str | None = None  # a class on the page's header and cells
    stats: bool = False  # shown only on boards where some row has per-query data


def _num(value: float | None) -> str:
    return "" if value is None else repr(value)


def _rank(ctx: RowContext) -> Cell:
    return Cell("–" if ctx.rank is None else str(ctx.rank), "" if ctx.rank is None
                else str(ctx.rank))


def _model(ctx: RowContext) -> Cell:
    row = ctx.row
    return Cell(row.display_name, row.display_name, link=row.reference, sub=row.model_name)


def _params(ctx: RowContext) -> Cell:
    return Cell(ctx.row.params_text, _num(ctx.row.params_query))


def _score(column: str) -> Callable[[RowContext], Cell]:
    def cell(ctx: RowContext) -> Cell:
        value = ctx.row.values()[column]
        if value is None:
            return Cell("–")
        shown = round(100 * value, 2)
        best, second = ctx.marks[column]
        mark = "best" if shown == best else "second" if shown == second else None
        interval = ctx.interval(column)
        if interval is not None:  # the score and its 95% interval
            ci = f"[{100 * interval[0]:.2f}, {100 * interval[1]:.2f}]"
            return Cell(f"{shown:.2f} {ci}", repr(100 * value), mark,
                        title=f"95% CI {ci}", sub=ci, short=f"{shown:.2f}")
        return Cell(f"{shown:.2f}", repr(100 * value), mark)
    return cell


def _qps(ctx: RowContext) -> Cell:
    row = ctx.row
    if row.qps is None:
        return Cell("–")
    where = row.speed_setting or ""
    return Cell(f"{row.qps:.1f}", repr(row.qps), note=f"({_letter(ctx.hardware.index(where))})",
                title=where)


def _source(ctx: RowContext) -> Cell:
    row = ctx.row
    return Cell(row.provenance + (", verified" if row.verified else ""), row.source_kind,
                note=f"[{ctx.sources.index(row.source) + 1}]", title=row.source,
                results_path=f"{row.folder}/submission.yaml", short=row.source_kind)


def _rank_interval(ctx: RowContext) -> Cell:
    """The 95% rank interval by Avg among the rows with per-query data, ``≈`` when
    indistinguishable from the first; ``–`` (never tied or separated) without per-query data."""
    stats = ctx.stats
    if stats is None or ctx.index not in stats.rank:
        return Cell("–")
    best, worst = stats.rank[ctx.index]
    text = str(best) if best == worst else f"{best}–{worst}"
    tied = stats.tied[ctx.index] and ctx.index != stats.first
    return Cell(text, f"{best}.{worst:04d}", note="≈" if tied else None,
                title=f"95% rank interval among {stats.ranked} entries with per-query data"
                      + ("; indistinguishable from the first" if tied else ""))


def _letter(index: int) -> str:
    return chr(ord("a") + index)


def score_columns() -> tuple[str, ...]:
    """The score columns' labels: the five tasks, then the paper's averages."""
    return (*TASK_COLUMNS.values(), *AVERAGES)


def _columns() -> tuple[Column, ...]:
    return (
        Column("Rank", _rank, first="asc"),
        Column("Model", _model, kind="text", first="asc", align="left", css="model"),
        Column("Params (Q/D)", _params, first="asc", align="left"),
        *(Column(label, _score(label)) for label in score_columns()),
        Column("QPS", _qps),
        Column("Source", _source, kind="text", first="asc", align="left"),
        Column("Rank 95%", _rank_interval, first="asc", stats=True),
    )


#: every column of a board, in order (add a column here and both renderers show it)
COLUMNS: tuple[Column, ...] = _columns()


@dataclass(frozen=True)
class RowView:
    """One row as shown: the row, its rank and one cell per column of :data:`COLUMNS`."""

    row: Row
    rank: int | None
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class BoardView:
    """One board as shown: its rows' cells and its footnotes (sources, QPS hardware)."""

    setting: str
    rows: tuple[RowView, ...]
    sources: tuple[str, ...]
    hardware: tuple[str, ...]
    complete: int  # rows with all five tasks (ranked)
    columns: tuple[Column, ...] = COLUMNS
    stats: BoardStats | None = None  # None: no row has per-query data

    @classmethod
    def of(cls, board: Board, columns: tuple[Column, ...] | None = None) -> BoardView:
        """The view of a board (its rows are already sorted) with ``columns`` (default
        :data:`COLUMNS`)."""
        columns = COLUMNS if columns is None else columns
        sources = tuple(dict.fromkeys(r.source for r in board.rows))
        hardware = tuple(dict.fromkeys(r.speed_setting for r in board.rows if r.speed_setting))
        marks = board.marks()
        stats = board_statistics(board)
        if stats is None:
            columns = tuple(c for c in columns if not c.stats)
        rows = []
        for index, (row, rank) in enumerate(zip(board.rows, board.ranks(), strict=True)):
            ctx = RowContext(row, rank, marks, sources, hardware, index, stats)
            rows.append(RowView(row, rank, tuple(c.cell(ctx) for c in columns)))
        return cls(board.setting, tuple(rows), sources, hardware,
                   sum(r.average("Avg") is not None for r in board.rows), columns, stats)

    @property
    def summary(self) -> str:
        """``3 models, 2 with all five tasks.``"""
        n = len(self.rows)
        return f"{n} model{'s' * (n != 1)}, {self.complete} with all five tasks."

    def footnotes(self) -> list[tuple[str, str]]:
        """``(marker, text)`` of each footnote: the sources, then where QPS was measured."""
        return ([(f"[{i}]", s) for i, s in enumerate(self.sources, start=1)]
                + [(f"({_letter(i)})", f"QPS measured on {h}")
                   for i, h in enumerate(self.hardware)]
                + stats_footnotes(self.stats, len(self.rows)))


def board_statistics(board: Board) -> BoardStats | None:
    """The board's intervals (seeded: the same every time), or None when no row has
    per-query data."""
    if not any(row.per_query for row in board.rows):
        return None
    from medteb.results.board_stats import board_stats  # numpy, only for boards with data

    return board_stats([row.per_query for row in board.rows], TASK_COLUMNS)

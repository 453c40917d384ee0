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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from medteb.benchmark.definitions import AVERAGES
from medteb.results.board_stats import stats_footnotes
from medteb.results.rows import TASK_COLUMNS, Board, Row, format_params

__all__ = ["COLUMNS", "TASK_COLUMNS", "Board", "BoardView", "Cell", "Column", "Row",
           "RowContext", "format_params"]

if TYPE_CHECKING:
    from medteb.results.board_stats import BoardStats


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
        """The row's 95% interval (0–1) of a score column, if it has one: the board's, else
        the one stored for a task scored on hidden labels."""
        found = None if self.stats is None else self.stats.ci.get((self.index, column))
        return found if found is not None else self.row.hidden_columns.get(column)


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
            return _overlap_marked(ctx.row, column, Cell(
                f"{shown:.2f} {ci}", repr(100 * value), mark, title=f"95% CI {ci}", sub=ci,
                short=f"{shown:.2f}"))
        return _overlap_marked(ctx.row, column, Cell(f"{shown:.2f}", repr(100 * value), mark))
    return cell


def _overlap_marked(row: Row, column: str, cell: Cell) -> Cell:
    """A task's score cell with its training-data overlap marker (issue 23)."""
    from dataclasses import replace

    from medteb.results.overlap import MARKERS

    task = _TASK_OF.get(column)
    if task not in row.overlap:
        return cell
    marker, text = MARKERS[row.overlap[task]]
    return replace(cell, note=marker, title=f"{marker} {text}")


_TASK_OF = {label: task for task, label in TASK_COLUMNS.items()}


def _qps(ctx: RowContext) -> Cell:
    row = ctx.row
    if row.qps is None:
        return Cell("–")
    where = row.speed_setting or ""
    return Cell(f"{row.qps:.1f}", repr(row.qps), note=f"({_letter(ctx.hardware.index(where))})",
                title=where)


def _source(ctx: RowContext) -> Cell:
    row = ctx.row
    return Cell(row.provenance + (", verified" if row.verified else "")
                + (", hidden labels" if row.hidden_labels else ""), row.source_kind,
                note=f"[{ctx.sources.index(row.source) + 1}]", title=row.source,
                results_path=f"{row.folder}/submission.yaml",
                short=row.source_kind + (", hidden labels" if row.hidden_labels else ""))


def _reproduced(ctx: RowContext) -> Cell:
    """Issue 24: the day and hardware of the entry's latest matching `medteb reproduce`."""
    if ctx.row.reproduced is None:
        return Cell("–")
    day, where = ctx.row.reproduced
    return Cell(f"✓ {day}, {where}", day, title=f"re-run with `medteb reproduce` on {day} "
                f"({where}): every main score within 0.001", short=f"✓ {day}")


def _post_cutoff(ctx: RowContext) -> Cell:
    """Issue 23: Retrieval's score after minus before the model's release date, with its
    bootstrap interval (``–`` without dated data or with a slice under 30 queries)."""
    cut = ctx.row.post_cutoff.get("MedTEB-Retrieval")
    if cut is None or cut.difference is None:
        return Cell("–")
    return Cell(cut.text, repr(100 * cut.difference), title=(
        f"Retrieval after {cut.release_date}: {100 * cut.after_score:.2f} ({cut.after} "
        f"queries); on or before: {100 * cut.before_score:.2f} ({cut.before} queries); 95% "
        f"bootstrap interval, {cut.resamples} resamples"))


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
        Column("Reproduced", _reproduced, kind="text", first="desc", align="left"),
        Column("Post-cutoff Δ", _post_cutoff, first="asc"),
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
                + self._overlap_footnotes()
                + stats_footnotes(self.stats, len(self.rows)))

    def _overlap_footnotes(self) -> list[tuple[str, str]]:
        """One footnote per training-data overlap marker shown on this board (issue 23)."""
        from medteb.results.overlap import MARKERS

        shown = {kind for r in self.rows for kind in r.row.overlap.values()}
        return [MARKERS[k] for k in MARKERS if k in shown]


def board_statistics(board: Board) -> BoardStats | None:
    """The board's intervals (seeded: the same every time), or None when no row has
    per-query data: :attr:`Board.statistics <medteb.results.rows.Board.statistics>`, computed
    once per board."""
    return board.statistics

"""A board's statistics: score intervals, rank intervals and ties with the first.

Only entries whose per-query files (``<Task>.per_query.jsonl``, stored by ``medteb submit
--predictions``) are on the same data get them. For each task, the entries are grouped by the
data their per-query scores were computed on (data revision, metric, query ids, gold scores);
the largest group (ties: the one holding the best-ranked entry) is the task's comparable set.
An average gets an interval for the entries in the comparable set of each of its tasks; the
rank interval and the tie with the first are over ``Avg`` (the board's order), among the entries
that have an ``Avg`` interval. Entries without per-query data (numbers copied from papers, or
submitted without predictions) get none of this and are never marked tied or separated.

Resampling is :mod:`medteb.analysis.ranking`'s: each task's queries resampled independently
with a fixed seed, jointly across the entries, so a board is the same every time it is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from medteb.analysis.ranking import RESAMPLES, SEED, task_rng
from medteb.analysis.stats import (
    LEVEL,
    ScoreSet,
    bootstrap,
    percentile_ci,
    rank_intervals,
    tied_with_first,
)
from medteb.benchmark.definitions import AVERAGES, BENCHMARK_ORDER

if TYPE_CHECKING:
    from medteb.analysis.perquery import PerQuery
    from medteb.results.layout import Entry

#: the score column whose rank interval and tie with the first the board shows
RANKED = "Avg"


@dataclass(frozen=True)
class BoardStats:
    """What a board shows about uncertainty, by row position (the board's sorted rows).

    Attributes:
        ci: {(row, column label): (lo, hi)} 95% bootstrap interval of the score (0–1).
        rank: {row: (best, worst)} 95% rank interval by :data:`RANKED`, among ``ranked`` rows.
        tied: {row: indistinguishable from the first by :data:`RANKED`} for the ranked rows.
        ranked: how many rows have a rank interval.
        first: the row with the best observed :data:`RANKED` among them (None: no such row).
        resamples, seed: the bootstrap's settings.
    """

    ci: dict[tuple[int, str], tuple[float, float]]
    rank: dict[int, tuple[int, int]]
    tied: dict[int, bool]
    ranked: int
    first: int | None = None
    resamples: int = RESAMPLES
    seed: int = SEED

    def has_data(self, row: int) -> bool:
        """The row has at least one interval."""
        return any(i == row for i, _ in self.ci)

    def row_dict(self, row: int) -> dict[str, Any]:
        """The row's uncertainty keys in ``leaderboard.json`` (see :func:`row_intervals`)."""
        return {"ci": {column: [data_score(lo), data_score(hi)]
                       for (i, column), (lo, hi) in self.ci.items() if i == row},
                "rank_interval": list(self.rank[row]) if row in self.rank else None,
                "tied_with_first": self.tied.get(row)}


def data_score(value: float) -> float:
    """A 0–1 score as the data files write it: 0–100, rounded to 6 decimals (as
    :meth:`~medteb.results.rows.Row.to_dict`'s scores)."""
    return round(100 * value, 6)


def row_intervals(stats: BoardStats | None, row: int,
                  hidden: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """What the data files carry of a board row's uncertainty, from the board's own
    :class:`BoardStats` (the numbers ``leaderboard.md`` and the page show).

    ``ci``: {score column: [lo, hi]}, the 95% interval of each score that has one, on the
    scores' 0–100 scale (empty: none); ``rank_interval``: [best, worst], the 95% rank interval
    by Avg among the board's entries with per-query data (None: no Avg interval);
    ``tied_with_first``: statistically indistinguishable from the first of those entries by
    Avg (true for the first itself; the board's ``≈`` marks the others), None without a rank
    interval. A row without per-query data gets ``{}``, None and None: never an interval;
    ``hidden``: {column: interval} of the row's tasks scored on hidden labels, whose intervals
    are stored with the entry instead.
    """
    found = ({"ci": {}, "rank_interval": None, "tied_with_first": None} if stats is None
             else stats.row_dict(row))
    for column, (lo, hi) in (hidden or {}).items():  # hidden-label tasks' stored intervals
        found["ci"].setdefault(column, [data_score(lo), data_score(hi)])
    return found


def _fingerprint(scores: PerQuery) -> tuple:
    gold = None if scores.gold is None else scores.gold.tobytes()
    return (scores.data_revision, scores.metric, scores.ids, gold)


def comparable(rows: Sequence[dict[str, PerQuery]], task: str) -> list[int]:
    """The rows of the task's comparable set (see the module's docstring), in board order."""
    groups: dict[tuple, list[int]] = {}
    for i, per_query in enumerate(rows):
        if task in per_query:
            groups.setdefault(_fingerprint(per_query[task]), []).append(i)
    if not groups:
        return []
    return max(groups.values(), key=lambda members: (len(members), -members[0]))


def board_stats(rows: Sequence[dict[str, PerQuery]], columns: dict[str, str],
                resamples: int = RESAMPLES, seed: int = SEED,
                level: float = LEVEL) -> BoardStats:
    """The statistics of a board's rows.

    Args:
        rows: each row's {task: per-query scores}, in the board's order.
        columns: {task: its column label}.
    """
    ci: dict[tuple[int, str], tuple[float, float]] = {}
    distributions: dict[str, tuple[list[int], np.ndarray]] = {}
    for task in BENCHMARK_ORDER:
        members = comparable(rows, task)
        if not members:
            continue
        first = rows[members[0]][task]
        scores = ScoreSet(first.kind, np.stack([rows[i][task].values for i in members]),
                          first.gold)
        dist = bootstrap(scores, resamples, task_rng(seed, task))
        distributions[task] = (members, dist)
        for i, (lo, hi) in zip(members, percentile_ci(dist, level), strict=True):
            ci[(i, columns[task])] = (float(lo), float(hi))
    rank: dict[int, tuple[int, int]] = {}
    tied: dict[int, bool] = {}
    first = None
    for label, tasks in AVERAGES.items():
        if not all(t in distributions for t in tasks):
            continue
        members = sorted(set.intersection(*(set(distributions[t][0]) for t in tasks)))
        if not members:
            continue
        dist = np.mean([distributions[t][1][:, [distributions[t][0].index(i) for i in members]]
                        for t in tasks], axis=0)
        for i, (lo, hi) in zip(members, percentile_ci(dist, level), strict=True):
            ci[(i, label)] = (float(lo), float(hi))
        if label == RANKED:
            observed = np.mean([rows_scores(rows, members, t) for t in tasks], axis=0)
            for i, (best, worst), is_tied in zip(
                    members, rank_intervals(dist, level),
                    tied_with_first(dist, observed, level), strict=True):
                rank[i] = (int(best), int(worst))
                tied[i] = bool(is_tied)
            first = members[int(np.argmax(observed))]
    return BoardStats(ci, rank, tied, len(rank), first, resamples, seed)


def task_interval(per_query: PerQuery, resamples: int = RESAMPLES, seed: int = SEED,
                  level: float = LEVEL) -> tuple[float, float]:
    """One row's 95% interval of a task score (0–1), as :func:`board_stats` computes it: a
    task's resamples depend only on its queries and the seed, never on the other rows. For
    scores whose per-query values cannot be published (hidden labels)."""
    scores = ScoreSet(per_query.kind, per_query.values[None, :], per_query.gold)
    dist = bootstrap(scores, resamples, task_rng(seed, per_query.task))
    lo, hi = percentile_ci(dist, level)[0]
    return float(lo), float(hi)


def rows_scores(rows: Sequence[dict[str, PerQuery]], members: Sequence[int],
                task: str) -> np.ndarray:
    """``(m,)``: the task's observed score of each member row, from its per-query data."""
    return np.array([rows[i][task].score for i in members])


def stats_footnotes(stats: BoardStats | None, n_rows: int) -> list[tuple[str, str]]:
    """A board's footnotes on its intervals, and on the rows that have none."""
    without = sum(stats is None or not stats.has_data(i) for i in range(n_rows))
    notes = []
    if stats is not None:
        rank = ("Rank 95%: 95% interval of the rank by Avg among the "
                f"{stats.ranked} entries with per-query data on the same data (resampled "
                "jointly); ≈: statistically indistinguishable from the first of them (the 95% "
                "interval of the difference of their Avg contains 0)." if stats.ranked else
                "Rank 95%: none here, since no entry with per-query data has all five tasks "
                "(an Avg).")
        notes.append(("[lo, hi]", f"95% bootstrap confidence interval of the score "
                                 f"({stats.resamples:,} resamples of the queries, or STS pairs, "
                                 f"seed {stats.seed}; an average's tasks resampled "
                                 f"independently). {rank}"))
    why = ("(numbers copied from a publication, or submitted without --predictions): shown "
           "without intervals, never marked tied with or separated from the first.")
    if without == n_rows:
        notes.append(("§", f"No entry here has per-query data {why}"))
    elif without:
        notes.append(("§", f"{without} of {n_rows} entries have no per-query data {why}"))
    return notes


def entry_per_query(entry: Entry) -> dict[str, PerQuery]:
    """{task: per-query scores} of a ``results/`` entry (its ``<Task>.per_query.jsonl``, stored
    by ``medteb submit --predictions``); each must be of a task it has a score for, and agree
    with that score (else the board would show an interval around another number).

    Raises:
        ResultsError: an unreadable or inconsistent per-query file.
    """
    if entry.per_query:  # a run's, scored from its predictions (results.runboard)
        return dict(entry.per_query)
    if entry.path is None:
        return {}
    folder, scores = entry.path, entry.scores
    from medteb.analysis.perquery import SUFFIX, read_per_query
    from medteb.errors import AnalysisError, ResultsError
    from medteb.results.verify import SCORE_TOLERANCE

    found: dict[str, PerQuery] = {}
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        task = path.name[: -len(SUFFIX)]
        try:
            per_query = read_per_query(path)
        except AnalysisError as err:
            raise ResultsError(str(err)) from err
        if per_query.task != task or task not in scores:
            raise ResultsError(f"{path}: per-query scores of {per_query.task}, but the entry has "
                               f"no {task}.json score to go with them")
        if abs(per_query.score - scores[task]) > SCORE_TOLERANCE:
            raise ResultsError(f"{path}: the per-query scores give {per_query.score:.6f}, but "
                               f"{task}.json says {scores[task]:.6f}; resubmit with "
                               "`medteb submit --replace --predictions`")
        found[task] = per_query
    return found

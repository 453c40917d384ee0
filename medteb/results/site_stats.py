"""The page's statistics of a board: a pairwise matrix per task and each model's hardest queries.

Only for entries with per-query files (``medteb submit --predictions``) on the same data, the
comparable sets of :mod:`medteb.results.board_stats`. A matrix cell compares its row's entry
with its column's on one task (:func:`pairwise`, ``medteb compare``'s tests): the two-sided
paired randomization p-value and the share of queries (STS: pairs, by their share of the
correlation) where the row's entry scores higher. The hardest queries of a model are its
lowest per-query values on a ranking task (ids only: the page does not hold the task data;
``medteb compare`` shows the text). Seeded, so the page is the same on every build.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from medteb.benchmark.definitions import BENCHMARK_ORDER

if TYPE_CHECKING:
    from medteb.results.board import Board

#: randomizations per pair of the page's p-values (the smallest reachable p is 1 / 1,001)
MATRIX_RESAMPLES = 1_000
#: queries listed per model and task
HARDEST = 5


def stats_html(board: Board) -> str:
    """The board's ``<details>`` blocks, or "" when fewer than one entry has per-query data."""
    from medteb.results.board import TASK_COLUMNS
    from medteb.results.board_stats import comparable

    rows = [row.per_query for row in board.rows]
    parts = []
    for task in BENCHMARK_ORDER:
        members = comparable(rows, task)
        if len(members) >= 2:
            parts.append(_matrix(board, task, members, TASK_COLUMNS[task]))
    hardest = [_hardest(board, i) for i, row in enumerate(board.rows) if row.per_query]
    if not parts and not hardest:
        return ""
    out = []
    if parts:
        out += ['<details class="pairwise"><summary>Pairwise comparisons per task (p-values, '
                "win rates)</summary>",
                "<p>Row against column: two-sided paired randomization p-value "
                f"({MATRIX_RESAMPLES:,} random sign flips or swaps, seed 0) and the share of "
                "queries where the row's entry is better (ties count as neither). Entries with "
                "per-query data on the same data only.</p>", *parts, "</details>"]
    out += ['<details class="hardest"><summary>Hardest queries per model</summary>',
            f"<p>Each model's {HARDEST} lowest-scoring queries per ranking task (query id: "
            "its nDCG@10 or AP, 0–100); <code>medteb compare</code> shows their text.</p>",
            *hardest, "</details>"]
    return "\n".join(out)


def _matrix(board: Board, task: str, members: list[int], label: str) -> str:
    names = [board.rows[i].display_name for i in members]
    head = "".join(f'<th scope="col">{html.escape(n)}</th>' for n in names)
    cells = pairwise(board, task, members)
    body = []
    for i in members:
        row = [("<td>–</td>" if i == j else
                f'<td data-p="{cells[i, j][0]!r}">p {cells[i, j][0]:.3f} · '
                f"{100 * cells[i, j][1]:.0f}%</td>") for j in members]
        body.append(f'<tr><th scope="row">{html.escape(board.rows[i].display_name)}</th>'
                    + "".join(row) + "</tr>")
    return "\n".join([f'<table class="pairwise" data-task="{html.escape(task)}">'
                      f"<caption>{html.escape(label)}</caption>",
                      f"<thead><tr><th></th>{head}</tr></thead>", "<tbody>", *body,
                      "</tbody></table>"])


def pairwise(board: Board, task: str, members: list[int],
             resamples: int = MATRIX_RESAMPLES) -> dict[tuple[int, int], tuple[float, float]]:
    """{(row, column): (p-value, share of queries the row wins)} of every ordered pair.

    Mean metrics: one :func:`~medteb.analysis.stats.sign_flip_p_many` for all pairs (the same
    random signs for each); STS: :func:`~medteb.analysis.stats.pearson_swap_p` per pair, wins
    by each pair's share of the correlation (as ``medteb compare``).
    """
    import numpy as np

    from medteb.analysis.compare import TIE, pearson_shares
    from medteb.analysis.ranking import SEED, task_rng
    from medteb.analysis.stats import pearson_swap_p, sign_flip_p_many

    scores = [board.rows[i].per_query[task] for i in members]
    pairs = [(x, y) for x in range(len(members)) for y in range(x + 1, len(members))]
    rng = task_rng(SEED + 1, task)
    if scores[0].kind == "mean":
        d = np.stack([scores[x].values - scores[y].values for x, y in pairs])
        p = sign_flip_p_many(d, resamples, rng)
    else:
        gold = scores[0].gold
        shares = [pearson_shares(s.values, gold) for s in scores]
        d = np.stack([shares[x] - shares[y] for x, y in pairs])
        p = np.array([pearson_swap_p(scores[x].values, scores[y].values, gold, resamples, rng)
                      for x, y in pairs])
    n = d.shape[1]
    out: dict[tuple[int, int], tuple[float, float]] = {}
    for k, (x, y) in enumerate(pairs):
        i, j = members[x], members[y]
        out[i, j] = (float(p[k]), float((d[k] > TIE).sum() / n))
        out[j, i] = (float(p[k]), float((d[k] < -TIE).sum() / n))
    return out


def _hardest(board: Board, index: int) -> str:
    row = board.rows[index]
    items = []
    for task in BENCHMARK_ORDER:
        per_query = row.per_query.get(task)
        if per_query is None or per_query.kind != "mean":
            continue
        order = sorted(range(len(per_query.ids)), key=lambda k: (per_query.values[k],
                                                                  per_query.ids[k]))[:HARDEST]
        listed = ", ".join(f"{html.escape(per_query.ids[k])}: {100 * per_query.values[k]:.1f}"
                           for k in order)
        items.append(f"<li>{html.escape(task)}: {listed}</li>")
    return (f'<h4>{html.escape(row.display_name)}</h4><ul data-model="'
            f'{html.escape(row.model_name)}">' + "".join(items) + "</ul>")

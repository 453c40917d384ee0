"""The page's statistics of a board: a pairwise matrix per task and each model's hardest queries.

Only for entries with per-query files (``medteb submit --predictions``) on the same data, the
comparable sets of :mod:`medteb.results.board_stats`. A matrix cell compares its row's entry
with its column's on one task (:func:`medteb.analysis.compare.compare_task`): the two-sided
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
    from medteb.analysis.compare import compare_task

    names = [board.rows[i].display_name for i in members]
    head = "".join(f'<th scope="col">{html.escape(n)}</th>' for n in names)
    body = []
    for i in members:
        cells = []
        for j in members:
            if i == j:
                cells.append("<td>–</td>")
                continue
            result = compare_task(board.rows[i].per_query[task], board.rows[j].per_query[task],
                                  resamples=MATRIX_RESAMPLES)
            cells.append(f'<td data-p="{result.p_value!r}">p {result.p_value:.3f} · '
                         f"{100 * result.wins / result.n:.0f}%</td>")
        body.append(f'<tr><th scope="row">{html.escape(board.rows[i].display_name)}</th>'
                    + "".join(cells) + "</tr>")
    return "\n".join([f'<table class="pairwise" data-task="{html.escape(task)}">'
                      f"<caption>{html.escape(label)}</caption>",
                      f"<thead><tr><th></th>{head}</tr></thead>", "<tbody>", *body,
                      "</tbody></table>"])


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

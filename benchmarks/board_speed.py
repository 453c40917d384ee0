"""A board of 30 entries with per-query files: the leaderboard's statistics and the page's.

30 models × 5 tasks (four mean-metric tasks of 1,000 queries, one STS task of 1,000 pairs).
Measured in one run, on the same data:

* ``board``: :func:`medteb.results.board_stats.board_stats` (10,000 resamples: every score's
  interval, the rank intervals and ties by Avg) — what ``leaderboard.md`` and the page add;
* ``page``: :func:`medteb.results.site_stats.stats_html` (a pairwise matrix per task, 435 pairs
  each at 1,000 randomizations, and the hardest queries);
* anchor: :func:`medteb.analysis.ranking.rankings` on the same data (the joint bootstrap that
  ``benchmarks/analysis_speed.py`` measures against scipy); the ratios are ours over it.

    OMP_NUM_THREADS=2 python benchmarks/board_speed.py [--models 30] [--queries 1000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from medteb.analysis.perquery import PerQuery  # noqa: E402
from medteb.analysis.ranking import rankings  # noqa: E402
from medteb.analysis.stats import ScoreSet  # noqa: E402
from medteb.results.board import TASK_COLUMNS, Board, Row  # noqa: E402
from medteb.results.board_stats import board_stats  # noqa: E402
from medteb.results.site_stats import stats_html  # noqa: E402


def rows(models: int, queries: int, seed: int = 0) -> list[Row]:
    rng = np.random.default_rng(seed)
    skill = np.linspace(0.4, 0.7, models)
    gold = rng.uniform(size=queries)
    out = []
    for m in range(models):
        per_query = {}
        for task in TASK_COLUMNS:
            ids = tuple(f"q{i:04d}" for i in range(queries))
            metric = "cosine_pearson" if task == "MedTEB-STS" else "ndcg_at_10"
            common = dict(task=task, metric=metric, data_revision="r", model=f"org/m{m}",
                          model_revision="r1", ids=ids)
            if task == "MedTEB-STS":
                values = skill[m] * gold + rng.normal(0, 0.3, queries)
                per_query[task] = PerQuery(**common, values=values, gold=gold)
            else:
                values = np.clip(skill[m] + rng.normal(0, 0.3, queries), 0, 1)
                per_query[task] = PerQuery(**common, values=values)
        scores = {t: p.score for t, p in per_query.items()}
        out.append(Row(f"m{m}", f"org/m{m}", "r1", scores, "bench", "reproduced",
                       per_query=per_query))
    return sorted(out, key=Row.sort_key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=30)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    board = Board("zero-shot", tuple(rows(args.models, args.queries)))
    per_query = [r.per_query for r in board.rows]
    sets = {t: ScoreSet(per_query[0][t].kind, np.stack([p[t].values for p in per_query]),
                        per_query[0][t].gold) for t in TASK_COLUMNS}
    start = time.perf_counter()
    rankings([r.model_name for r in board.rows], sets)
    anchor = time.perf_counter() - start
    start = time.perf_counter()
    board_stats(per_query, TASK_COLUMNS)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    page = stats_html(board)
    page_s = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.models} models x 5 tasks x {args.queries} queries, "
          f"{os.environ['OMP_NUM_THREADS']} threads")
    print(f"anchor rankings(): {anchor:.2f} s")
    print(f"board_stats():     {ours:.2f} s  (ratio to the anchor {ours / anchor:.2f})")
    print(f"stats_html():      {page_s:.2f} s  (ratio to the anchor {page_s / anchor:.2f}; "
          f"{len(page) / 1024:.0f} kB of HTML)")
    print(f"peak memory:       {peak:.0f} MB")


if __name__ == "__main__":
    main()

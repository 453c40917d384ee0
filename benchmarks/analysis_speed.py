"""CIs and rank intervals for a board's worth of models (goal: ≤ 10 s and ≤ 1 GB on 2 cores).

30 models × 5 tasks (four mean-metric tasks of 1,000 queries, one STS task of 1,000 pairs) at
10,000 resamples: :func:`medteb.analysis.ranking.rankings` gives every task's and every
average's score CIs, rank intervals and ties with the first, from one joint bootstrap per task.

Anchor, in the same run on the same data: ``scipy.stats.bootstrap`` (percentile, vectorised,
one call per task with the 30 models along an axis, in batches of 500
resamples to keep its memory near ours) for the score CIs only — it has no rank
intervals and no averages. The ratio is scipy's time over ours.

    OMP_NUM_THREADS=2 python benchmarks/analysis_speed.py [--resamples 10000] [--models 30]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from medteb.analysis.ranking import rankings  # noqa: E402
from medteb.analysis.stats import ScoreSet  # noqa: E402

#: scipy resamples per batch: unbatched, scipy holds 30 x 10,000 x 1,000 floats (~14 GB)
BATCH = 500
TASKS = ("CMedQAv1-reranking", "CMedQAv2-reranking", "MedTEB-Retrieval", "MedTEB-Rerank",
         "MedTEB-STS")


def data(models: int, queries: int, seed: int = 0) -> dict[str, ScoreSet]:
    rng = np.random.default_rng(seed)
    skill = np.linspace(0.4, 0.7, models)[:, None]
    sets = {}
    for task in TASKS[:-1]:
        sets[task] = ScoreSet("mean", np.clip(skill + rng.normal(0, 0.3, (models, queries)), 0, 1))
    gold = rng.uniform(0, 1, queries)
    sets[TASKS[-1]] = ScoreSet("pearson", gold + rng.normal(0, 1, (models, queries)) / skill, gold)
    return sets


def scipy_anchor(sets: dict[str, ScoreSet], resamples: int) -> None:
    def pearson(x: np.ndarray, g: np.ndarray, axis: int = -1) -> np.ndarray:
        return stats.pearsonr(x, g, axis=axis)[0]

    for scores in sets.values():
        if scores.kind == "mean":
            stats.bootstrap((scores.values,), np.mean, axis=-1, n_resamples=resamples,
                            method="percentile", vectorized=True, random_state=1,
                            batch=BATCH)
        else:
            gold = np.broadcast_to(scores.gold, scores.values.shape)
            stats.bootstrap((scores.values, gold), pearson, axis=-1, paired=True,
                            n_resamples=resamples, method="percentile", vectorized=True,
                            random_state=1, batch=BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=30)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=10_000)
    args = parser.parse_args()
    sets = data(args.models, args.queries)
    names = [f"model-{i:02d}" for i in range(args.models)]
    rankings(names, {"MedTEB-Rerank": sets["MedTEB-Rerank"]}, {}, resamples=100)  # warm-up

    start = time.perf_counter()
    out = rankings(names, sets, resamples=args.resamples, seed=0)
    ours = time.perf_counter() - start
    peak_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"medteb.analysis: {len(out)} score lists ({', '.join(out)}), "
          f"{args.models} models x {len(sets)} tasks x {args.queries} queries, "
          f"{args.resamples:,} resamples: {ours:.2f} s, peak RSS {peak_ours:.0f} MB "
          f"(threads: {os.environ['OMP_NUM_THREADS']})")
    avg = out["Avg"]
    best = int(np.argmax(avg.scores))
    print(f"  Avg: best {names[best]} {100 * avg.scores[best]:.2f} "
          f"[{100 * avg.ci[best][0]:.2f}, {100 * avg.ci[best][1]:.2f}], rank interval "
          f"{avg.rank_ci[best].tolist()}, {int(avg.tied_first.sum())} entries tied with it")

    start = time.perf_counter()
    scipy_anchor(sets, args.resamples)
    theirs = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scipy.stats.bootstrap (score CIs only, per task): {theirs:.2f} s, peak RSS of the "
          f"process after both {peak:.0f} MB")
    print(f"ratio scipy / medteb: {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()

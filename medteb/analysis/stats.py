"""Resampling statistics over per-query scores: bootstrap CIs, paired tests, rank intervals.

Everything is vectorised: a bootstrap resample of ``n`` queries is a row of counts (how often
each query was drawn), so a chunk of ``b`` resamples is a ``(b, n)`` count matrix ``W`` and every
model's resampled score is one matrix product — ``W @ X.T / n`` for a mean metric, five weighted
sums for a Pearson correlation. There is no Python loop per resample; chunks bound the memory.

Two kinds of task score (:class:`ScoreSet`):

* ``mean``: the mean of per-query values (nDCG@10, AP), one row of ``values`` per model;
* ``pearson``: the Pearson correlation of each model's similarities with the gold scores.

Randomness comes from ``numpy.random.default_rng(seed)``; the same seed gives the same output.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from medteb.errors import AnalysisError

#: resamples per chunk; a chunk's count matrix is CHUNK x n int64 (8 MB at n = 1,000)
CHUNK = 1000
LEVEL = 0.95
KINDS = ("mean", "pearson")


@dataclass(frozen=True)
class ScoreSet:
    """One task's per-query data for ``m`` models on the same ``n`` queries (or pairs).

    Attributes:
        kind: ``"mean"`` or ``"pearson"``.
        values: ``(m, n)``: per-query values (mean) or predicted similarities (pearson).
        gold: ``(n,)`` gold scores (pearson only).
    """

    kind: str
    values: np.ndarray
    gold: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise AnalysisError(f"unknown score kind {self.kind!r} (known: {', '.join(KINDS)})")
        values = np.atleast_2d(np.asarray(self.values, dtype=np.float64))
        object.__setattr__(self, "values", values)
        require_finite(values, "per-query values")
        if values.shape[1] < 2:
            raise AnalysisError(f"{values.shape[1]} queries: a resampled score needs at least 2")
        if self.kind == "pearson":
            if self.gold is None:
                raise AnalysisError("a pearson score set needs the gold scores")
            gold = np.asarray(self.gold, dtype=np.float64)
            require_finite(gold, "gold scores")
            if gold.shape != (values.shape[1],):
                raise AnalysisError(f"{gold.size} gold scores for {values.shape[1]} pairs")
            object.__setattr__(self, "gold", gold)

    @property
    def n(self) -> int:
        return int(self.values.shape[1])

    def observed(self) -> np.ndarray:
        """``(m,)``: each model's score on the data as it is."""
        return self.weighted(np.ones((1, self.n)))[0]

    def weighted(self, counts: np.ndarray) -> np.ndarray:
        """``(b, m)``: each model's score under each row of query weights ``counts`` (b, n)."""
        w = counts.astype(np.float64)
        total = w.sum(axis=1, keepdims=True)
        if self.kind == "mean":
            return (w @ self.values.T) / total
        return _weighted_pearson(w, total, self.values, self.gold)


def _weighted_pearson(w: np.ndarray, total: np.ndarray, x: np.ndarray,
                      gold: np.ndarray) -> np.ndarray:
    mean_x = (w @ x.T) / total                                      # (b, m)
    mean_g = (w @ gold)[:, None] / total                            # (b, 1)
    cov = (w @ (x * gold).T) / total - mean_x * mean_g
    var_x = (w @ (x * x).T) / total - mean_x ** 2
    var_g = (w @ (gold * gold))[:, None] / total - mean_g ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(np.clip(var_x, 0, None) * np.clip(var_g, 0, None))
    return np.clip(r, -1.0, 1.0)  # nan where a resample has no variance (dropped by nan-quantiles)


def require_finite(values: np.ndarray, what: str) -> None:
    """Raise :class:`AnalysisError` when ``values`` holds NaN or an infinity."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise AnalysisError(f"{int(bad.sum())} non-finite {what} (NaN or infinite): a score "
                            "must not silently rest on fewer queries")


def count_chunks(n: int, resamples: int, rng: np.random.Generator,
                 chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """Bootstrap resamples of ``n`` items as ``(b, n)`` count matrices, ``chunk`` rows at a time."""
    if resamples < 1:
        raise AnalysisError(f"--resamples must be at least 1, not {resamples}")
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n)
        done += b


def bootstrap(scores: ScoreSet, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(resamples, m)``: the models' scores over bootstrap resamples of the queries, the same
    resampled queries for every model (a joint, paired bootstrap)."""
    return np.concatenate([scores.weighted(c) for c in count_chunks(scores.n, resamples, rng)])


def percentile_ci(distribution: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """``(..., 2)``: the percentile interval of a bootstrap distribution along its first axis."""
    tail = (1 - level) / 2 * 100
    return np.moveaxis(np.nanpercentile(distribution, [tail, 100 - tail], axis=0), 0, -1)


def sign_flip_p(a: np.ndarray, b: np.ndarray, resamples: int,
                rng: np.random.Generator) -> float:
    """Two-sided paired randomization p-value of ``mean(a - b)``: each query's difference keeps
    or flips its sign at random (the labels a and b swapped per query).

    ``p = (1 + #{|mean(s * d)| >= |mean(d)|}) / (1 + resamples)``: 1 for identical runs.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return float(sign_flip_p_many(d[None, :], resamples, rng)[0])


def sign_flip_p_many(d: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`sign_flip_p` of many pairs at once: ``d`` is ``(P, n)``, one row of per-query
    differences per pair; the same random signs serve every pair (each p-value is exact; they
    are correlated), so ``P`` pairs cost one matrix product per chunk."""
    d = np.atleast_2d(np.asarray(d, dtype=np.float64))
    require_finite(d, "per-query differences")
    observed = np.abs(d.mean(axis=1))
    hits = np.zeros(d.shape[0], dtype=np.int64)
    for b_ in _chunk_sizes(resamples):
        signs = (rng.integers(0, 2, size=(b_, d.shape[1])) * 2 - 1).astype(np.float64)
        stat = np.abs(signs @ d.T) / d.shape[1]
        hits += (stat >= observed - 1e-12 * np.maximum(1.0, observed)).sum(axis=0)
    return (1 + hits) / (1 + resamples)


def pearson_swap_p(a: np.ndarray, b: np.ndarray, gold: np.ndarray, resamples: int,
                   rng: np.random.Generator) -> float:
    """Two-sided paired permutation p-value of ``r(a, gold) - r(b, gold)``: each pair's two
    similarities are swapped between the runs at random, and both correlations recomputed."""
    a, b, g = (np.asarray(x, dtype=np.float64) for x in (a, b, gold))
    require_finite(np.stack([a, b, g]), "similarities or gold scores")
    n = g.size
    gc = g - g.mean()
    g_ss = gc @ gc
    observed = abs(_pearson_fixed(a, gc, g_ss) - _pearson_fixed(b, gc, g_ss))
    delta, delta_sq = b - a, b * b - a * a
    hits = 0
    for b_ in _chunk_sizes(resamples):
        s = rng.integers(0, 2, size=(b_, n)).astype(np.float64)   # 1: swap this pair
        # x' = a + s (b - a) and y' = b - s (b - a); both correlations from sums over s
        sum_a, sum_b = a.sum() + s @ delta, b.sum() - s @ delta
        cov_a, cov_b = a @ gc + s @ (delta * gc), b @ gc - s @ (delta * gc)
        ss_a = (a @ a + s @ delta_sq) - sum_a ** 2 / n
        ss_b = (b @ b - s @ delta_sq) - sum_b ** 2 / n
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = cov_a / np.sqrt(ss_a * g_ss) - cov_b / np.sqrt(ss_b * g_ss)
        hits += int(_at_least(np.abs(np.nan_to_num(diff)), observed).sum())
    return (1 + hits) / (1 + resamples)


def _pearson_fixed(x: np.ndarray, gc: np.ndarray, g_ss: float) -> float:
    xc = x - x.mean()
    denominator = np.sqrt((xc @ xc) * g_ss)
    return float(xc @ gc / denominator) if denominator > 0 else 0.0


def _at_least(stat: np.ndarray, observed: float) -> np.ndarray:
    # a resample "as extreme" as the observed one, up to float rounding of the same sum
    return stat >= observed - 1e-12 * max(1.0, observed)


def _chunk_sizes(resamples: int) -> Iterator[int]:
    if resamples < 1:
        raise AnalysisError(f"--resamples must be at least 1, not {resamples}")
    for start in range(0, resamples, CHUNK):
        yield min(CHUNK, resamples - start)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1), in input order.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = round(running, 12)
    return adjusted


def ranks(distribution: np.ndarray) -> np.ndarray:
    """``(B, m)`` competition ranks (1 = best; ties share the better rank) per resample."""
    return 1 + (distribution[:, None, :] > distribution[:, :, None]).sum(axis=2)


def rank_intervals(distribution: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """``(m, 2)``: each model's ``level`` rank interval over a joint bootstrap distribution."""
    r = ranks(distribution)
    tail = (1 - level) / 2
    lo = np.quantile(r, tail, axis=0, method="inverted_cdf")
    hi = np.quantile(r, 1 - tail, axis=0, method="inverted_cdf")
    return np.stack([lo, hi], axis=1).astype(int)


def tied_with_first(distribution: np.ndarray, observed: np.ndarray,
                    level: float = LEVEL) -> np.ndarray:
    """``(m,)`` bool: the first (best observed) model, and every model whose paired bootstrap
    interval of (first − model) contains 0 — statistically indistinguishable from the first."""
    first = int(np.argmax(observed))
    ci = percentile_ci(distribution[:, [first]] - distribution, level)
    tied = ci[:, 0] <= 0
    tied[first] = True
    return tied

"""Confidence intervals for task scores and the paper's averages, and rank intervals.

Each task's queries are resampled independently of the other tasks' (a separate random stream
per task, derived from the seed and the task's name), jointly across the models (the same
resampled queries for every model of a task). An average's resampled value is the mean of its
tasks' resampled scores, so its interval accounts for every task's sampling noise.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from medteb.analysis.stats import (
    LEVEL,
    ScoreSet,
    bootstrap,
    percentile_ci,
    rank_intervals,
    tied_with_first,
)
from medteb.errors import AnalysisError

RESAMPLES = 10_000
SEED = 0


def task_rng(seed: int, task: str) -> np.random.Generator:
    """The random stream of one task: the same for a task whatever other tasks are analysed."""
    return np.random.default_rng([seed, zlib.crc32(task.encode("utf-8"))])


def bootstrap_tasks(sets: Mapping[str, ScoreSet], resamples: int = RESAMPLES,
                    seed: int = SEED) -> dict[str, np.ndarray]:
    """{task: (resamples, m) joint bootstrap distribution of the models' scores}."""
    return {task: bootstrap(scores, resamples, task_rng(seed, task))
            for task, scores in sets.items()}


@dataclass(frozen=True)
class ScoreRanking:
    """Models' scores on one task or average, with uncertainty.

    Attributes:
        label: the task or average (``"Avg"``, ``"CMedQA avg"``, ...).
        models: the models, in input order.
        scores: ``(m,)`` observed scores (0–1 scale).
        ci: ``(m, 2)`` 95% percentile bootstrap intervals.
        rank_ci: ``(m, 2)`` 95% rank intervals (1 = best).
        tied_first: ``(m,)`` indistinguishable from the best observed model.
    """

    label: str
    models: tuple[str, ...]
    scores: np.ndarray
    ci: np.ndarray
    rank_ci: np.ndarray
    tied_first: np.ndarray

    def to_dict(self) -> dict:
        return {"label": self.label, "models": {
            m: {"score": float(self.scores[i]), "ci": [float(x) for x in self.ci[i]],
                "rank_ci": [int(x) for x in self.rank_ci[i]],
                "tied_with_first": bool(self.tied_first[i])}
            for i, m in enumerate(self.models)}}


def rankings(models: Sequence[str], sets: Mapping[str, ScoreSet],
             averages: Mapping[str, Sequence[str]] | None = None,
             resamples: int = RESAMPLES, seed: int = SEED,
             level: float = LEVEL) -> dict[str, ScoreRanking]:
    """Score CIs, rank intervals and ties with the first, per task and per complete average.

    Args:
        models: names of the ``m`` rows of every score set.
        sets: {task: the models' per-query data on it}.
        averages: {label: tasks}; default the paper's ``benchmark.definitions.AVERAGES``.
            An average is given only when all its tasks are in ``sets``.

    Raises:
        AnalysisError: a score set does not have one row per model.
    """
    if averages is None:
        from medteb.benchmark.definitions import AVERAGES as averages
    for task, scores in sets.items():
        if scores.values.shape[0] != len(models):
            raise AnalysisError(f"{task}: {scores.values.shape[0]} rows of scores for "
                                f"{len(models)} models")
    distributions = bootstrap_tasks(sets, resamples, seed)
    observed = {task: scores.observed() for task, scores in sets.items()}
    for label, tasks in averages.items():
        if tasks and all(t in sets for t in tasks):
            distributions[label] = np.mean([distributions[t] for t in tasks], axis=0)
            observed[label] = np.mean([observed[t] for t in tasks], axis=0)
    return {label: ScoreRanking(
        label=label, models=tuple(models), scores=observed[label],
        ci=percentile_ci(dist, level), rank_ci=rank_intervals(dist, level),
        tied_first=tied_with_first(dist, observed[label], level))
        for label, dist in distributions.items()}

"""Score a prediction folder against a label folder (``medteb score P --labels DIR``).

A release may publish queries and corpus (rerank candidates, STS pairs) without their labels;
participants run ``medteb run --prediction-folder P`` on it and hand in ``P``. The maintainer
keeps the labels in a folder of their own (the full data in the data format,
docs/data_format.md) and scores the predictions here. The scores are recomputed by
:func:`medteb.results.verify.recompute_main_score`, the one implementation that also verifies
submitted scores, so a score here and a verified score on the board cannot disagree.

Predictions are checked against the labels before any score is computed, every problem
listed at once: a ranking that leaves out a judged query (the mean would silently skip it and
flatter the model), a document id the label folder does not know, an STS prediction with
another number of pairs, a non-finite value.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medteb.errors import MedtebError

PREDICTIONS_SUFFIX = "_predictions.json"


class ScoringError(MedtebError, ValueError):
    """Predictions that cannot be scored against the labels; carries every problem found."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s); nothing was scored:\n"
                         f"{lines}")


@dataclass(frozen=True)
class TaskScore:
    """One task's main score recomputed from predictions (mteb's 0–1 scale)."""

    task: str
    metric: str
    main_score: float
    labels_revision: str


@dataclass(frozen=True)
class ScoreReport:
    """The main scores of one model's predictions against a label folder."""

    model_name: str
    model_revision: str
    predictions: str
    labels: str
    scores: tuple[TaskScore, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """``{"model": .., "revision": .., "labels": .., "tasks": {task: {"main_score": ..}}}``."""
        return {"model": self.model_name, "revision": self.model_revision,
                "predictions": self.predictions, "labels": self.labels,
                "tasks": {s.task: {"main_score": s.main_score, "metric": s.metric,
                                   "labels_revision": s.labels_revision}
                          for s in self.scores}}

    def to_markdown(self) -> str:
        """A deterministic table, scores on the 0–100 scale."""
        lines = [f"Model: {self.model_name} (revision {self.model_revision})",
                 f"Predictions: {self.predictions}", f"Labels: {self.labels}", "",
                 "| Task | Metric | Score |", "|---|---|---:|"]
        lines += [f"| {s.task} | {s.metric} | {100 * s.main_score:.2f} |" for s in self.scores]
        return "\n".join(lines) + "\n"


def prediction_files(folder: str | os.PathLike) -> dict[str, Path]:
    """One model's saved predictions, by task: ``folder`` holds ``<Task>_predictions.json``
    itself, or is a model's folder with one ``<revision>``, or a ``--prediction-folder`` with
    exactly one ``<org__model>/<revision>`` (as ``medteb compare`` accepts them).

    Raises:
        ScoringError: no predictions, or those of several model revisions.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ScoringError(str(root), ["not a folder (give a run's --prediction-folder)"])
    files: list[Path] = []
    for depth in ("", "*/", "*/*/"):  # the model revision's folder, its model's, the root
        files = files or sorted(root.glob(f"{depth}*{PREDICTIONS_SUFFIX}"))
    parents = sorted({p.parent for p in files})
    if not files:
        raise ScoringError(str(root), [f"no *{PREDICTIONS_SUFFIX} here, nor in <revision>/ or "
                                       "<org__model>/<revision>/ folders below it"])
    if len(parents) > 1:
        raise ScoringError(str(root), [
            "predictions of several model revisions; give one of: "
            + ", ".join(p.relative_to(root).as_posix() for p in parents)])
    return {p.name.removesuffix(PREDICTIONS_SUFFIX): p for p in files}


def score_predictions(predictions: str | os.PathLike, labels: str | os.PathLike,
                      tasks: Sequence[str] | None = None,
                      load: Callable[[str], Any] | None = None) -> ScoreReport:
    """Recompute each task's main score from ``predictions`` against the labels in ``labels``.

    Args:
        predictions: a prediction folder (see :func:`prediction_files`).
        labels: a data folder with one complete ``<TaskName>/`` folder per task.
        tasks: only these tasks (each must have predictions); None: every MedTEB task
            predicted (CMedQA's predictions, scored on mteb's data, are not a label folder's).
        load: task name -> the task with ``labels``' data loaded, when the caller has loaded
            them already (``medteb submit --labels``); None: read here.

    Raises:
        ScoringError: every problem of every task (missing labels or predictions, predictions
            of another model, a judged query left out, unknown ids, a wrong count of pairs).
    """
    from medteb.benchmark.definitions import NEW_TASKS
    from medteb.benchmark.tasks import get_task
    from medteb.results.verify import check_coverage, recompute_main_score

    files = prediction_files(predictions)
    chosen = list(tasks) if tasks else sorted(t for t in files if t in NEW_TASKS)
    problems = [f"{t}: not one of MedTEB's own tasks ({', '.join(NEW_TASKS)}), whose labels a "
                "data folder holds" for t in chosen if t not in NEW_TASKS]
    if not chosen:
        problems.append(f"no predictions of {', '.join(NEW_TASKS)}")
    chosen = [t for t in chosen if t in NEW_TASKS]
    problems += [f"{t}: no {t}{PREDICTIONS_SUFFIX} in {predictions}" for t in chosen
                 if t not in files]
    owners: set[tuple[str, str]] = set()
    scores: list[TaskScore] = []
    for name in (t for t in chosen if t in files):
        path = files[name]
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            problems.append(f"{path}: not readable JSON ({err})")
            continue
        owner = saved.get("mteb_model_meta") or {}
        owners.add((str(owner.get("model_name")), str(owner.get("revision"))))
        try:
            if load is not None:
                task = load(name)
            else:
                task = get_task(name, data_dir=labels)
                task.load_data()
        except Exception as err:  # unreadable data is one problem line, never a traceback
            problems.append(f"{name}: labels cannot be read: {' '.join(str(err).split())}")
            continue
        if getattr(task, "labelled", True) is False:
            problems.append(f"{name}: the data in {labels} has no labels (the public part of a "
                            "hidden-label release); give the folder that has them")
            continue
        found = check_coverage(task, saved, path.name)
        if found:
            problems += found
            continue
        try:
            value = recompute_main_score(task, saved)
        except (LookupError, ValueError) as err:
            problems.append(f"{path.name}: cannot recompute the score: {err}")
            continue
        if not math.isfinite(value):
            problems.append(f"{path.name}: the main score is undefined ({value}), e.g. every "
                            "prediction is the same")
            continue
        scores.append(TaskScore(name, task.metadata.main_score, value,
                                str(task.metadata.revision)))
    if len(owners) > 1:
        problems.append("predictions of several models: " + ", ".join(
            f"{n} revision {r}" for n, r in sorted(owners)))
    if problems:
        raise ScoringError(str(predictions), problems)
    (name, revision), = owners
    return ScoreReport(name, revision, str(predictions), str(labels), tuple(scores))

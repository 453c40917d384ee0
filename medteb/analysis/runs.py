"""Runs to analyse: a prediction folder (``medteb run --prediction-folder``) or a folder of
per-query files, scored against the task's labels, with what is needed to explain a query."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medteb.analysis.perquery import SUFFIX, PerQuery, from_predictions, read_per_query
from medteb.errors import AnalysisError

PREDICTIONS = "_predictions.json"
HOW_TO_GET = ("run `medteb run -m MODEL --data-dir DIR --prediction-folder PREDS` and compare "
              "PREDS/<org__model>/<revision>")


@dataclass(frozen=True)
class Run:
    """One run's per-query scores, per task.

    Attributes:
        label: how reports name it (``org/model@revision``, else the folder).
        scores: {task: per-query scores}.
        predictions: {task: {query id: {doc id: score}}} of ranking tasks, when read from
            predictions (per-query files carry no rankings).
        tasks: {task: the mteb task with its data loaded}, where predictions were scored.
    """

    label: str
    scores: dict[str, PerQuery]
    predictions: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    tasks: dict[str, Any] = field(default_factory=dict)


def _revision_folder(path: Path) -> Path:
    if any(path.glob(f"*{PREDICTIONS}")) or any(path.glob(f"*{SUFFIX}")):
        return path
    nested = sorted({p.parent for depth in ("*/", "*/*/") for name in (PREDICTIONS, SUFFIX)
                     for p in path.glob(f"{depth}*{name}")})
    if len(nested) > 1:
        names = ", ".join(f"{p.parent.name}/{p.name}" for p in nested[:4])
        raise AnalysisError(f"{path}: {len(nested)} model revisions ({names}"
                            f"{', ...' if len(nested) > 4 else ''}); give one of them")
    if not nested:
        raise AnalysisError(f"{path}: no predictions or per-query files; to get them, "
                            + HOW_TO_GET)
    return nested[0]


def load_run(path: str | Path, data_dir: str | None = None,
             cache: dict[tuple[str, str | None], Any] | None = None) -> Run:
    """Read one run and score it per query.

    Args:
        path: a model revision folder of predictions or per-query files, or a folder holding
            exactly one: a model's folder (``<revision>/``) or a prediction folder
            (``<org__model>/<revision>/``).
        data_dir: the labels' data folder (``medteb run --data-dir``); default: ``sample`` for a
            run on the sample (revision ending ``-sample``), else $MEDTEB_DATA_DIR / the release.
        cache: loaded tasks, shared between the runs of one comparison.

    Raises:
        AnalysisError: no predictions, unreadable files, predictions that do not fit the data.
    """
    from medteb.benchmark.tasks import get_task

    root = Path(path)
    if not root.is_dir():
        raise AnalysisError(f"{root}: not a folder; to get predictions, " + HOW_TO_GET)
    folder = _revision_folder(root)
    cache = {} if cache is None else cache
    scores: dict[str, PerQuery] = {}
    predictions: dict[str, dict[str, dict[str, float]]] = {}
    tasks: dict[str, Any] = {}
    for file in sorted(folder.glob(f"*{SUFFIX}")):
        per_query = read_per_query(file)
        scores[per_query.task] = per_query
    owner: dict[str, Any] = {}
    for file in sorted(folder.glob(f"*{PREDICTIONS}")):
        name = file.name[: -len(PREDICTIONS)]
        try:
            saved = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise AnalysisError(f"{file}: unreadable predictions ({err})") from err
        owner = saved.get("mteb_model_meta") or {}
        where = data_dir
        if where is None and str(owner.get("revision", folder.name)).endswith("-sample"):
            where = "sample"
        if (name, where) not in cache:
            task = get_task(name, data_dir=where)
            task.load_data()
            cache[(name, where)] = task
        task = cache[(name, where)]
        scores[name] = from_predictions(task, saved)
        tasks[name] = task
        if task.metadata.type in ("Retrieval", "Reranking"):
            predictions[name] = saved["default"]["test"]
    label = (f"{owner['model_name']}@{owner['revision']}" if owner.get("model_name")
             else next((f"{p.model}@{p.model_revision}" for p in scores.values() if p.model),
                       str(root)))
    return Run(label=label, scores=scores, predictions=predictions, tasks=tasks)


def check_same_data(a: PerQuery, b: PerQuery, label_a: str, label_b: str) -> None:
    """Refuse to compare per-query scores of different data, in one line saying what differs."""
    where = f"{a.task}: {label_a} and {label_b} are on different data"
    if a.data_revision != b.data_revision:
        raise AnalysisError(f"{where}: data revision {a.data_revision} vs {b.data_revision}")
    if a.metric != b.metric:
        raise AnalysisError(f"{where}: metric {a.metric} vs {b.metric}")
    if a.ids != b.ids:
        only_a = sorted(set(a.ids) - set(b.ids))
        only_b = sorted(set(b.ids) - set(a.ids))
        if not only_a and not only_b:
            raise AnalysisError(f"{where}: the same {len(a.ids)} ids in another order")
        raise AnalysisError(f"{where}: {len(only_a)} queries only in the first "
                            f"{only_a[:3]}, {len(only_b)} only in the second {only_b[:3]}")
    if a.gold is not None and b.gold is not None and not (a.gold == b.gold).all():
        raise AnalysisError(f"{where}: the gold scores differ")

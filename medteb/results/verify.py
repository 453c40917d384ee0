"""Recompute a task's main score from a run's saved predictions (``--prediction-folder``).

This is what makes a submission verifiable: the predictions (a ranking per query, or one
similarity per STS pair) are scored again against the task's own qrels / gold scores with mteb's
own metric code, and ``medteb submit`` refuses a result whose claimed score differs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCORE_TOLERANCE = 1e-4  # mteb rounds stored scores to 6 decimals


def recompute_main_score(task: Any, saved: dict[str, Any], split: str = "test",
                         subset: str = "default") -> float:
    """The task's main score, recomputed from mteb's saved predictions of one subset and split.

    Args:
        task: an mteb task with its data loaded (``task.load_data()``).
        saved: the parsed ``<TaskName>_predictions.json`` that ``mteb.evaluate`` writes.

    Raises:
        KeyError: the predictions lack the subset / split / a needed key.
        ValueError: the task type cannot be recomputed.
    """
    predictions = saved[subset][split]
    data = task.dataset[subset][split]
    main = task.metadata.main_score
    if task.metadata.type in ("Retrieval", "Reranking"):
        return float(_retrieval_scores(task, data, predictions)[main])
    if task.metadata.type == "STS":
        from medteb._mteb import sts_scores

        return float(sts_scores(task, predictions, list(data["score"]))[main])
    raise ValueError(f"cannot recompute scores of {task.metadata.type} tasks")


def _retrieval_scores(task: Any, data: Any, predictions: dict[str, dict[str, float]]
                      ) -> dict[str, Any]:
    from medteb._mteb import retrieval_scores

    results = {q: {d: float(s) for d, s in docs.items()
                   if not (task.ignore_identical_ids and d == q)}
               for q, docs in predictions.items()}
    return retrieval_scores(task, data, results)


def verify_predictions(folder: Path, where: str, model: tuple[str, str], found: dict[str, str],
                       sample: bool, predictions: Path, load_task: Callable[[str, str], Any],
                       problems: list[str]) -> bool:
    """Recompute each claimed main score from the saved predictions; add a problem per mismatch.

    Args:
        folder: the submitted ``<org__model>/<revision>`` folder; ``where`` names it in messages.
        model: the (name, revision) the predictions must belong to.
        found: {task: dataset revision} of the valid result files.
        sample: the results were computed on the bundled sample.
        predictions: the run's ``--prediction-folder``.
        load_task: (task name, 'sample' | 'official') -> the task with data loaded.

    Returns:
        True when every score was recomputed and matches.
    """
    from medteb.results.layout import predictions_file

    name, revision = model
    start = len(problems)
    for task in found:
        path = predictions_file(predictions, task, name, revision)
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            problems.append(f"{where}/{task}.json: no usable predictions at {path} ({err})")
            continue
        owner = saved.get("mteb_model_meta", {})
        if (owner.get("model_name"), owner.get("revision")) != (name, revision):
            problems.append(f"{path}: predictions of {owner.get('model_name')} revision "
                            f"{owner.get('revision')}, not of {name} revision {revision}")
            continue
        kind = "sample" if sample or found[task].startswith("sample-") else "official"
        try:
            task_obj = load_task(task, kind)
            score = recompute_main_score(task_obj, saved)
        except (LookupError, KeyError, ValueError) as err:
            problems.append(f"{where}/{task}.json: cannot recompute the score: {err}")
            continue
        from mteb.results import TaskResult

        claimed = TaskResult.from_disk(folder / f"{task}.json").get_score(splits=["test"])
        if abs(score - claimed) > SCORE_TOLERANCE:
            problems.append(f"{where}/{task}.json: claimed main score {claimed:.6f} differs "
                            f"from {score:.6f} recomputed from {path.name}")
    return len(problems) == start

"""Recompute a task's main score from a run's saved predictions (``--prediction-folder``).

This is what makes a submission verifiable: the predictions (a ranking per query, or one
similarity per STS pair) are scored again against the task's own qrels / gold scores, and
``medteb submit`` refuses a result whose claimed score differs.

The scores are recomputed with the metric libraries themselves, not with mteb's private
evaluator code, so the check neither breaks nor silently changes when mteb's internals move:

* Retrieval and Reranking: ``pytrec_eval`` (trec_eval's measures ``ndcg_cut.k``, ``map_cut.k``,
  ``recall.k``, ``P.k``), as mteb defines its scores: queries without any relevance judgement
  are left out, a document with the query's own id is dropped when the task ignores identical
  ids, the mean is over the queries that pytrec_eval evaluates, rounded to 5 decimals;
* STS: ``scipy.stats`` Pearson (or Spearman) correlation between the cosine similarities and the
  gold scores, normalised to [0, 1] with the task's score range as mteb does.

``tests/test_verify.py`` checks both against mteb's own values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from medteb.benchmark.data.sources import is_sample_revision, release_of_revision

SCORE_TOLERANCE = 1e-4  # mteb rounds stored scores to 6 decimals

#: mteb's ranking score names -> trec_eval's measure names
TREC_MEASURES = {"ndcg": "ndcg_cut", "map": "map_cut", "recall": "recall", "precision": "P"}


def recompute_main_score(task: Any, saved: dict[str, Any], split: str = "test",
                         subset: str = "default") -> float:
    """The task's main score, recomputed from mteb's saved predictions of one subset and split.

    Args:
        task: an mteb task with its data loaded (``task.load_data()``).
        saved: the parsed ``<TaskName>_predictions.json`` that ``mteb.evaluate`` writes.

    Raises:
        KeyError: the predictions lack the subset / split / a needed key.
        ValueError: the task type or main score cannot be recomputed.
    """
    values = per_query_values(task, saved, split, subset)
    if isinstance(values, dict):
        return round(sum(values.values()) / len(values), 5)
    gold, similarities = values
    return sts_score(task.metadata.main_score, gold, similarities)


def per_query_values(task: Any, saved: dict[str, Any], split: str = "test",
                     subset: str = "default") -> dict[str, float] | tuple[list[float], list[float]]:
    """What the main score is a function of: {query id: its value of the main metric} for
    ranking tasks (their mean is the main score), or (gold scores normalised to [0, 1], predicted
    similarities) for STS (their correlation is the main score).

    Raises:
        KeyError: the predictions lack the subset / split / a needed key.
        ValueError: the task type or main score cannot be recomputed.
    """
    predictions = saved[subset][split]
    data = task.dataset[subset][split]
    main = task.metadata.main_score
    if task.metadata.type in ("Retrieval", "Reranking"):
        results = {q: {d: float(s) for d, s in docs.items()
                       if not (getattr(task, "ignore_identical_ids", False) and d == q)}
                   for q, docs in predictions.items()}
        return ranking_per_query(main, dict(data["relevant_docs"]), results,
                                 skip_first_result=getattr(task, "skip_first_result", False))
    if task.metadata.type == "STS":
        low, high = float(task.min_score), float(task.max_score)
        gold = [(float(x) - low) / (high - low) for x in data["score"]]
        similarities = [float(x) for x in predictions["cosine_scores"]]
        if len(gold) != len(similarities):
            raise ValueError(f"{len(similarities)} predicted similarities for {len(gold)} pairs")
        return gold, similarities
    raise ValueError(f"cannot recompute scores of {task.metadata.type} tasks")


def ranking_score(metric: str, qrels: Mapping[str, Mapping[str, int]],
                  results: Mapping[str, Mapping[str, float]],
                  skip_first_result: bool = False) -> float:
    """A ranking main score (``ndcg_at_10``, ``map_at_1000``, ...) computed with pytrec_eval:
    the mean of :func:`ranking_per_query`, rounded to 5 decimals as mteb does.

    >>> ranking_score("ndcg_at_10", {"q": {"d1": 1}}, {"q": {"d1": 0.2, "d2": 0.9}})
    0.63093

    Raises:
        ValueError: an unknown metric, or no query to evaluate.
    """
    values = ranking_per_query(metric, qrels, results, skip_first_result)
    return round(sum(values.values()) / len(values), 5)


def ranking_per_query(metric: str, qrels: Mapping[str, Mapping[str, int]],
                      results: Mapping[str, Mapping[str, float]],
                      skip_first_result: bool = False) -> dict[str, float]:
    """{query id: its value of a ranking metric}, computed with pytrec_eval.

    >>> ranking_per_query("ndcg_at_10", {"q": {"d1": 1}}, {"q": {"d1": 0.2, "d2": 0.9}})
    {'q': 0.6309297535714575}

    Args:
        metric: mteb's score name, ``<ndcg|map|recall|precision>_at_<k>``.
        qrels: {query id: {document id: relevance}}; queries without judgements are left out.
        results: {query id: {document id: score}}, the predictions.
        skip_first_result: drop each query's top-scored document first (as mteb's option).

    Raises:
        ValueError: an unknown metric, or no query to evaluate.
    """
    import pytrec_eval

    match = re.fullmatch(r"(ndcg|map|recall|precision)_at_(\d+)", metric)
    if match is None:
        raise ValueError(f"cannot recompute the ranking score {metric!r} (known: "
                         f"{', '.join(f'{m}_at_<k>' for m in TREC_MEASURES)})")
    measure, k = TREC_MEASURES[match.group(1)], match.group(2)
    judged = {q: {d: int(r) for d, r in docs.items()} for q, docs in qrels.items() if docs}
    if skip_first_result:
        results = {q: dict(sorted(docs.items(), key=lambda x: x[1], reverse=True)[1:])
                   for q, docs in results.items()}
    per_query = pytrec_eval.RelevanceEvaluator(judged, {f"{measure}.{k}"}).evaluate(
        {q: dict(docs) for q, docs in results.items()})
    if not per_query:
        raise ValueError("no query of the predictions has relevance judgements")
    return {q: float(scores[f"{measure}_{k}"]) for q, scores in per_query.items()}


def sts_score(metric: str, gold: list[float], similarities: list[float]) -> float:
    """An STS main score (``cosine_pearson`` or ``cosine_spearman``) computed with scipy.

    Raises:
        ValueError: an unknown metric, or one similarity per pair not given.
    """
    from scipy.stats import pearsonr, spearmanr

    if len(gold) != len(similarities):
        raise ValueError(f"{len(similarities)} predicted similarities for {len(gold)} pairs")
    functions = {"cosine_pearson": pearsonr, "cosine_spearman": spearmanr}
    if metric not in functions:
        raise ValueError(f"cannot recompute the STS score {metric!r} (known: "
                         f"{', '.join(functions)})")
    return float(functions[metric](gold, [float(x) for x in similarities])[0])


def verify_predictions(folder: Path, where: str, model: tuple[str, str], found: dict[str, str],
                       sample: bool, predictions: Path, load_task: Callable[[str, str], Any],
                       problems: list[str],
                       on_match: Callable[[str, Any, dict[str, Any]], None] | None = None) -> bool:
    """Recompute each claimed main score from the saved predictions; add a problem per mismatch.

    Predictions that cannot be scored fairly are refused before any score is recomputed, with
    :func:`check_coverage` (as ``medteb score`` refuses them): a judged
    query without a ranking (the mean over the rest would score a smaller, easier sample),
    document ids outside the corpus, a wrong number of STS similarities, a non-finite value.

    Args:
        folder: the submitted ``<org__model>/<revision>`` folder; ``where`` names it in messages.
        model: the (name, revision) the predictions must belong to.
        found: {task: dataset revision} of the valid result files.
        sample: the results were computed on the bundled sample.
        predictions: the run's ``--prediction-folder``.
        load_task: (task name, 'sample' | 'official' | 'release:V') -> the task with data
            loaded.
        on_match: called with (task name, the loaded task, the parsed predictions) for each
            task whose score matches (``medteb submit`` stores its per-query scores).

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
        version = release_of_revision(found[task])
        kind = ("sample" if sample or is_sample_revision(found[task])
                else f"release:{version}" if version else "official")
        try:
            task_obj = load_task(task, kind)
        except LookupError as err:
            problems.append(f"{where}/{task}.json: cannot recompute the score: {err}")
            continue
        uncovered = check_coverage(task_obj, saved, path.name)
        if uncovered:  # a subset of the judged queries scores a smaller, easier sample
            problems += uncovered
            continue
        try:
            score = recompute_main_score(task_obj, saved)
        except (LookupError, KeyError, ValueError) as err:
            problems.append(f"{where}/{task}.json: cannot recompute the score: {err}")
            continue
        from mteb.results import TaskResult

        claimed = TaskResult.from_disk(folder / f"{task}.json").get_score(splits=["test"])
        if abs(score - claimed) > SCORE_TOLERANCE:
            problems.append(f"{where}/{task}.json: claimed main score {claimed:.6f} differs "
                            f"from {score:.6f} recomputed from {path.name}")
        elif on_match is not None:
            on_match(task, task_obj, saved)
    return len(problems) == start


def check_coverage(task: Any, saved: dict[str, Any], where: str, split: str = "test",
                   subset: str = "default") -> list[str]:
    """What keeps ``saved`` (a task's predictions) from being scored fairly on ``task``'s
    labels: a judged query without a ranking, unknown document ids, a wrong number of STS
    similarities, a non-finite value. An empty list means none."""
    try:
        predicted = saved[subset][split]
    except (KeyError, TypeError):
        return [f"{where}: no predictions for subset {subset!r}, split {split!r}"]
    data = task.dataset[subset][split]
    if task.metadata.type == "STS":
        values = predicted.get("cosine_scores") if isinstance(predicted, dict) else None
        if not isinstance(values, list):
            return [f"{where}: no cosine_scores list"]
        problems = []
        if len(values) != len(data["score"]):
            problems.append(f"{where}: {len(values)} similarities for the {len(data['score'])} "
                            "sentence pairs of the labels")
        bad = [i for i, v in enumerate(values) if not _finite(v)]
        if bad:
            problems.append(f"{where}: similarity {bad[0]} is not a finite number "
                            f"({len(bad)} such)")
        return problems
    judged = sorted(q for q, docs in dict(data["relevant_docs"]).items() if docs)
    missing = [q for q in judged if not predicted.get(q)]
    known = {str(d["id"]) for d in data["corpus"]}
    unknown = sorted({d for docs in predicted.values() for d in docs} - known)
    bad = sorted(q for q, docs in predicted.items() if not all(_finite(s) for s in docs.values()))
    problems = []
    if missing:
        problems.append(f"{where}: {len(missing)} of {len(judged)} judged queries have no "
                        f"ranking (e.g. {', '.join(missing[:3])})")
    if unknown:
        problems.append(f"{where}: {len(unknown)} document ids are not in the labels' corpus "
                        f"(e.g. {', '.join(unknown[:3])})")
    if bad:
        problems.append(f"{where}: non-finite scores in the rankings of {len(bad)} queries "
                        f"(e.g. {', '.join(bad[:3])})")
    return problems


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)


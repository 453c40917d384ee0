"""``medteb submit [PATH] --predictions P --labels DIR``: an entry scored on hidden labels.

A hidden-label release publishes queries and corpus (rerank candidates, STS pairs) without
labels (docs/data_format.md, "Hidden labels"). A participant runs ``medteb run --release V
--prediction-folder P`` on it: the label-free tasks write predictions, ``model_meta.json`` and
``run_manifest.yaml`` into ``P`` (exit status 3), the public tasks (CMedQA) are scored as usual
into the run's output folder ``PATH``. The maintainer keeps the labels in a folder of their own
and files the entry here:

1. the *hidden* tasks are the MedTEB tasks predicted in ``P`` that have no result in ``PATH``;
   ``P``'s manifest must record each on a release (``release-V-<hash>``);
2. the label folder must be that release's data with its labels: the same corpus, candidate
   lists and STS pairs, every judged query a release query with the same text and every release
   query judged (one problem line per difference, so labels of another version, or labels
   that lost queries, cannot score a release);
3. the predictions are scored on the labels by :func:`medteb.results.scoring.score_predictions`
   (``medteb score``'s code); each score becomes an mteb result file that records the release's
   data revision, as the run did;
4. those files, ``PATH``'s results and the run's records are staged in a temporary folder and
   submitted by :func:`medteb.results.submit.plan_submission`: every usual check, every score
   recomputed from ``P`` (the hidden ones on the labels), ``submission.yaml`` records
   ``hidden_labels: {task: {labels_revision, interval}}``, and a hidden task keeps no per-query
   file (its per-query values and STS gold scores would publish the labels): its 95% interval
   is computed here from them, as the board would, and stored instead.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from medteb.benchmark.data.sources import release_of_revision
from medteb.benchmark.definitions import NEW_TASKS
from medteb.errors import MedtebError, ResultsError, SubmissionError
from medteb.results.layout import HiddenTask
from medteb.results.submit import (
    DataContext,
    SubmissionPlan,
    SubmitOptions,
    find_result_folders,
    plan_submission,
)

_EXAMPLES = 3


def plan_hidden_submission(path: str | Path | None, results_dir: str | Path,
                           options: SubmitOptions) -> SubmissionPlan:
    """Plan the entry of ``options.predictions`` scored on ``options.labels`` (plus the run's
    results in ``path``, when given).

    Raises:
        SubmissionError: every problem found; nothing may be written then.
    """
    if options.predictions is None or options.labels is None:
        raise MedtebError("scoring on hidden labels needs --predictions P and --labels DIR")
    from medteb.results.scoring import ScoringError, prediction_files

    source = str(options.predictions)
    try:
        predicted = prediction_files(options.predictions)
    except ScoringError as err:
        raise SubmissionError(source, err.problems) from err
    model_dir = next(iter(predicted.values())).parent
    problems: list[str] = []
    meta, manifest = _run_records(model_dir, problems)
    run_dir = _run_folder(Path(path) if path is not None else None, meta, problems)
    given = {p.stem for p in run_dir.glob("*.json")} if run_dir is not None else set()
    hidden = [t for t in NEW_TASKS if t in predicted and t not in given]
    if manifest is not None and not hidden:
        problems.append(f"{source}: no MedTEB task is predicted without a result: nothing to "
                        "score on hidden labels (submit the run's results: medteb submit PATH "
                        "--predictions P)")
    context = DataContext(options.data_dir, options.releases_dir, options.labels)
    revisions = {}
    if manifest is not None:
        for task in hidden:
            found = _check_labels(task, manifest, context, str(options.labels), problems)
            if found is not None:
                revisions[task] = found
    if problems:
        raise SubmissionError(source, problems)
    from medteb.results.scoring import score_predictions

    try:
        report = score_predictions(options.predictions, options.labels, hidden,
                                   lambda task: context.task(task, "labels"))
    except ScoringError as err:
        raise SubmissionError(source, err.problems) from err
    scored = {s.task: _hidden_task(s.task, predicted[s.task], revisions[s.task][1], context)
              for s in report.scores}
    with tempfile.TemporaryDirectory(prefix="medteb-hidden-") as scratch:
        stage = Path(scratch) / model_dir.parent.name / model_dir.name
        stage.mkdir(parents=True)
        for file in sorted(run_dir.iterdir()) if run_dir is not None else ():
            if file.is_file():
                shutil.copy2(file, stage / file.name)
        for name in ("model_meta.json", "run_manifest.yaml"):
            if not (stage / name).exists():
                shutil.copy2(model_dir / name, stage / name)
        mteb_version = manifest.versions.get("mteb") or "unknown"  # type: ignore[union-attr]
        for score in report.scores:
            task = context.task(score.task, "labels")
            result = _result_file(score.task, score.metric, score.main_score,
                                  revisions[score.task][0], mteb_version, task)
            (stage / f"{score.task}.json").write_text(result, encoding="utf-8")
        try:
            return plan_submission(Path(scratch), results_dir,  # the tasks loaded above
                                   replace(options, hidden_labels=scored), context)
        except SubmissionError as err:  # named by what was given, not the scratch folder
            raise SubmissionError(source, err.problems) from err


def _hidden_task(task: str, predictions: Path, labels_revision: str,
                 context: DataContext) -> HiddenTask:
    """What the entry records of a hidden task: the labels' revision and the score's 95%
    interval, from per-query scores computed here and never written (they would publish the
    labels)."""
    from medteb.analysis.perquery import from_predictions
    from medteb.errors import AnalysisError
    from medteb.results.board_stats import task_interval

    try:
        per_query = from_predictions(context.task(task, "labels"),
                                     json.loads(predictions.read_text(encoding="utf-8")))
    except AnalysisError as err:
        raise SubmissionError(str(predictions), [str(err)]) from err
    return HiddenTask(labels_revision=labels_revision, interval=task_interval(per_query))


def _run_records(model_dir: Path, problems: list[str]) -> tuple[dict[str, Any], Any]:
    """``model_meta.json`` and ``run_manifest.yaml`` beside the predictions (``medteb run``
    writes both on label-free data)."""
    from medteb.results.manifest import read_manifest

    meta: dict[str, Any] = {}
    try:
        meta = json.loads((model_dir / "model_meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        problems.append(f"{model_dir}: no readable model_meta.json beside the predictions "
                        f"({type(err).__name__}); `medteb run` on label-free data writes it")
    try:
        return meta, read_manifest(model_dir)
    except ResultsError as err:
        problems.append(f"{model_dir}: {err} (the run's record of the data each task ran on)")
        return meta, None


def _run_folder(path: Path | None, meta: dict[str, Any], problems: list[str]) -> Path | None:
    """The one ``<org__model>/<revision>`` folder of ``path`` (the run's output folder), of
    the model whose predictions these are."""
    if path is None:
        return None
    folders = find_result_folders(path) if path.is_dir() else []
    if len(folders) != 1:
        problems.append(f"{path}: {'no' if not folders else len(folders)} result folders; "
                        "give the run's output folder with this model's results")
        return None
    try:
        theirs = json.loads((folders[0] / "model_meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        problems.append(f"{folders[0]}: no readable model_meta.json")
        return None
    key = ("name", "revision")
    if meta and [theirs.get(k) for k in key] != [meta.get(k) for k in key]:
        problems.append(f"{folders[0]}: results of {theirs.get('name')} revision "
                        f"{theirs.get('revision')}, but the predictions are of {meta.get('name')} "
                        f"revision {meta.get('revision')}")
        return None
    return folders[0]


def _check_labels(task: str, manifest: Any, context: DataContext, labels: str,
                  problems: list[str]) -> tuple[str, str] | None:
    """(public data revision, labels revision) of ``task``, when the label folder holds
    exactly the data of the release the predictions were made on, with labels."""
    record = manifest.tasks.get(task)
    if record is None:
        problems.append(f"{task}: the run's manifest does not record it (predictions of "
                        "another run?)")
        return None
    version = release_of_revision(record.data_revision)
    if version is None:
        problems.append(f"{task}: predicted on {record.data_revision}, not on a release: hidden "
                        "labels are scored for a release's public part (`medteb run --release "
                        "V`)")
        return None
    try:
        public = context.task(task, f"release:{version}")
        labelled = context.task(task, "labels")
    except LookupError as err:
        problems.append(f"{task}: {' '.join(str(err).split())}")
        return None
    if public.metadata.revision != record.data_revision:
        problems.append(f"{task}: predicted on {record.data_revision}, but release {version} "
                        f"is now {public.metadata.revision} (the release folder changed?)")
        return None
    if getattr(public, "labelled", True):
        problems.append(f"{task}: release {version} publishes its labels: nothing is hidden "
                        "(submit the run's results)")
        return None
    if not getattr(labelled, "labelled", True):
        problems.append(f"{task}: the data in {labels} has no labels (the public part of a "
                        "hidden-label release); give the folder that has them")
        return None
    found = differences(public, labelled)
    problems += [f"{task}: the labels in {labels} are not release {version}'s data: {d}"
                 for d in found]
    return None if found else (record.data_revision, str(labelled.metadata.revision))


def differences(public: Any, labelled: Any, split: str = "test") -> list[str]:
    """How a label folder's task data differs from the public release's (empty: the same
    data): documents, candidate lists, STS pairs, judged queries that are not release
    queries with the same text, and release queries the labels do not judge (every query of a
    label folder's test split is judged, so those are labels that lost queries)."""
    pub = public.dataset["default"][split]
    lab = labelled.dataset["default"][split]
    if public.metadata.type == "STS":
        pairs = [list(zip(d["sentence1"], d["sentence2"], strict=True)) for d in (pub, lab)]
        return _differ("sentence pairs", dict(enumerate(pairs[0])), dict(enumerate(pairs[1])))
    corpus = [{str(r["id"]): (r.get("title") or "", r["text"]) for r in d["corpus"]}
              for d in (pub, lab)]
    queries = [{str(r["id"]): r["text"] for r in d["queries"]} for d in (pub, lab)]
    found = _differ("documents", *corpus)
    found += _differ("judged queries", {q: t for q, t in queries[0].items()
                                        if q in queries[1]}, queries[1])
    unjudged = sorted(set(queries[0]) - set(queries[1]))  # a partial label folder
    if unjudged:
        found.append(f"{len(unjudged)} release queries have no judgement (e.g. "
                     f"{', '.join(unjudged[:_EXAMPLES])}); only the judged ones would be scored")
    ranked = [dict(d["top_ranked"] or {}) for d in (pub, lab)]
    found += _differ("candidate lists", {q: list(ranked[0].get(q) or []) for q in ranked[1]},
                     {q: list(v or []) for q, v in ranked[1].items()})
    return found


def _differ(what: str, public: dict[Any, Any], labelled: dict[Any, Any]) -> list[str]:
    keys = sorted(set(public) | set(labelled), key=str)
    bad = [k for k in keys if public.get(k) != labelled.get(k)]
    if not bad:
        return []
    return [f"{len(bad)} {what} differ (e.g. {', '.join(map(str, bad[:_EXAMPLES]))})"]


def _result_file(task: str, metric: str, score: float, data_revision: str,
                 mteb_version: str, loaded: Any) -> str:
    """An mteb result file of one main score, on the public data's revision."""
    langs = loaded.metadata.eval_langs
    languages = list(langs["default"] if isinstance(langs, dict) else langs)
    data = {"dataset_revision": data_revision, "task_name": task, "mteb_version": mteb_version,
            "scores": {"test": [{"main_score": score, metric: score, "hf_subset": "default",
                                 "languages": languages}]},
            "evaluation_time": None, "kg_co2_emissions": None}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

"""``medteb run`` as a library call: validate data, load the model, evaluate through mteb.

The order is chosen so that mistakes cost nothing: task names are checked, then every MedTEB
task's data is read and validated (all problems reported at once), and only then is the model
loaded and anything written. A task whose data cannot be reached is skipped with its reason.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medteb.benchmark.data.sources import any_sample, is_sample_label
from medteb.benchmark.definitions import load_definitions, paper_averages
from medteb.errors import DataUnavailableError, DataValidationError, MedtebError
from medteb.models.names import BM25_NAME
from medteb.results.revisions import filing_revision

if TYPE_CHECKING:
    from mteb.abstasks import AbsTask
    from mteb.models import MTEBModels

logger = logging.getLogger(__name__)

#: mteb's OverwriteStrategy values (the CLI lists them without importing mteb)
OVERWRITE_STRATEGIES = ("always", "never", "only-missing", "only-cache")


@dataclass(frozen=True)
class RunConfig:
    """Everything ``medteb run`` needs; mirrors the CLI flags.

    Attributes:
        model: a model name (see :func:`medteb.models.load_model`), an
            :class:`~medteb.models.asymmetric.AsymmetricSpec`, or a loaded mteb model.
        tasks: task names; None means the ``MedTEB`` benchmark's five tasks.
        data_dir: a data directory, ``"sample"``, or None (``MEDTEB_DATA_DIR``, then release).
        output_folder: results go to ``<output_folder>/<org__model>/<revision>/``.
    """

    model: Any = BM25_NAME
    tasks: Sequence[str] | None = None
    data_dir: str | os.PathLike | None = None
    output_folder: str | os.PathLike = "runs"  # never results/: `medteb submit` writes there
    model_revision: str | None = None
    device: str | None = None
    batch_size: int | None = None
    eval_splits: Sequence[str] | None = None
    overwrite_strategy: str = "only-missing"
    prediction_folder: str | os.PathLike | None = None
    show_progress: bool = True


@dataclass(frozen=True)
class TaskOutcome:
    """What happened to one task: a score, a skip reason or a failure."""

    name: str
    main_score: str
    score: float | None = None
    data: str | None = None
    skipped: str | None = None
    failed: str | None = None
    result_path: Path | None = None
    cached: bool = False
    predictions_only: bool = False  # label-free data: predictions written, nothing scored


@dataclass(frozen=True)
class RunReport:
    """The outcome of a run. Scores are on mteb's 0–1 scale; :meth:`to_markdown` shows 0–100."""

    model_name: str
    model_revision: str
    outcomes: list[TaskOutcome] = field(default_factory=list)
    output_folder: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def used_sample(self) -> bool:
        """Whether any task ran on the bundled sample instead of benchmark data."""
        return any(is_sample_label(o.data) for o in self.outcomes)

    def averages(self) -> dict[str, float | None]:
        """The paper's three averages (0–1); None unless every task of the group has a score."""
        return paper_averages({o.name: o.score for o in self.outcomes})

    def to_markdown(self, intervals: dict[str, tuple[float, float]] | None = None) -> str:
        """A deterministic table: one row per task, then the three averages.

        Args:
            intervals: {task or average: 95% CI (0–1)}; given, the table gets a "95% CI"
                column (:func:`medteb.analysis.run_intervals.run_intervals`).
        """
        lines = [f"Model: {self.model_name} (revision {self.model_revision})", ""]
        if self.used_sample:
            lines += ["SAMPLE DATA: the bundled MedTEB sample is a smoke test written by the "
                      "MedTEB authors, not the benchmark; its scores are not comparable.", ""]
        ci = "" if intervals is None else " 95% CI |"
        lines += [f"| Task | Metric | Score |{ci} Data |",
                  f"|---|---|---:|{'---:|' if ci else ''}---|"]
        for o in self.outcomes:
            if o.score is not None:
                cell = f"{100 * o.score:.2f}"
            else:
                cell = "not scored" if o.predictions_only else (
                    "skipped" if o.skipped else "failed")
            detail = o.skipped or o.failed or o.data or ""
            if o.failed and o.data:
                detail = f"{o.failed} ({o.data})"
            if o.cached:
                detail = f"cached; {detail}"
            cut = None if o.skipped else 400  # a skip reason says what to do: never cut
            lines.append(f"| {o.name} | {o.main_score} | {cell} |{_ci(intervals, o.name)}"
                         f" {_one_line(detail, cut)} |")
        for label, value in self.averages().items():
            lines.append(f"| **{label}** | | {'–' if value is None else f'{100 * value:.2f}'} |"
                         f"{_ci(intervals, label)} |")
        cached = [o for o in self.outcomes if o.cached]
        if cached:
            ran = sum(1 for o in self.outcomes if not o.skipped)
            lines += ["", f"Cached results: {len(cached)} of {ran} tasks answered from their "
                          "result files, nothing encoded for them (--overwrite-strategy always "
                          "evaluates again):"]
            lines += [f"- {o.name}: {o.result_path}" for o in cached]
        return "\n".join(lines) + "\n"


def _ci(intervals: dict[str, tuple[float, float]] | None, label: str) -> str:
    """The "95% CI" cell (with its trailing bar), or nothing when the table has no such column."""
    if intervals is None:
        return ""
    lo_hi = intervals.get(label)
    return " – |" if lo_hi is None else f" [{100 * lo_hi[0]:.2f}, {100 * lo_hi[1]:.2f}] |"


def _one_line(text: str, limit: int | None = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def prepare_tasks(names: Sequence[str] | None, data_dir: str | os.PathLike | None,
                  eval_splits: Sequence[str] | None,
                  on_progress: Callable[[str], None] = logger.info,
                  ) -> tuple[list[AbsTask], list[TaskOutcome]]:
    """Instantiate tasks and load their data; return the ready tasks and the skipped ones.

    Raises:
        UnknownTaskError: a name is unknown (before any data is read).
        DataValidationError: local data is malformed; every problem of every task is listed.
    """
    from medteb.benchmark.tasks import TASK_CLASSES, get_tasks

    tasks = get_tasks(names, data_dir=data_dir)
    ready: list[AbsTask] = []
    skipped: list[TaskOutcome] = []
    invalid: list[DataValidationError] = []
    for task in tasks:
        name, main_score = task.metadata.name, task.metadata.main_score
        if eval_splits:
            keep = [s for s in task.eval_splits if s in eval_splits]
            if not keep:
                skipped.append(TaskOutcome(name, main_score, skipped=(
                    f"none of --eval-splits {list(eval_splits)} (the task has "
                    f"{list(task.eval_splits)})")))
                continue
            task.filter_eval_splits(keep)
        on_progress(f"Loading data for {name}")
        try:
            task.load_data()
        except DataValidationError as err:
            invalid.append(err)
            continue
        except DataUnavailableError as err:
            skipped.append(TaskOutcome(name, main_score, skipped=str(err)))
            continue
        except Exception as err:  # mteb tasks: any hub/network/dataset error means "unreachable"
            if name in TASK_CLASSES:
                raise
            skipped.append(TaskOutcome(name, main_score, skipped=_hub_reason(task, err)))
            continue
        ready.append(task)
    if invalid:
        raise DataValidationError.merged(invalid)
    return ready, skipped


def _hub_reason(task: AbsTask, err: Exception) -> str:
    dataset = task.metadata.dataset["path"]
    if "OfflineMode" in str(err):
        return (f"{dataset} is not in the local Hugging Face cache and the Hub is offline "
                "(no network, HF_HUB_OFFLINE=1, or the offline demo); run with network access "
                "to fetch it")
    return f"{dataset} could not be loaded from the Hugging Face Hub ({type(err).__name__}: {err})"


def _data_label(task: AbsTask) -> str:
    source = getattr(task, "data_source", None)
    if source is not None:
        return source.label
    dataset = task.metadata.dataset
    return f"hf: {dataset['path']}@{str(dataset['revision'])[:10]}"


def load_run_model(model: Any, revision: str | None, device: str | None) -> MTEBModels:
    """A model as ``medteb run`` takes it: a name, a :class:`~medteb.models.kinds.ModelSpec`
    (an ``AsymmetricSpec``, an ``ApiSpec``: loaded after the checks), or a loaded model."""
    from medteb.models import load_model
    from medteb.models.kinds import ModelSpec

    if isinstance(model, str):
        return load_model(model, revision, device)
    if isinstance(model, ModelSpec):
        return model.load_on(device)
    if getattr(model, "mteb_model_meta", None) is None or not hasattr(model, "encode"):
        raise MedtebError(
            f"{type(model).__name__} is not an mteb model: it needs encode(inputs, *, "
            "task_metadata, hf_split, hf_subset, prompt_type=None, **kwargs) and an "
            "mteb_model_meta (a ModelMeta naming it); see docs/custom_models.md")
    return model


def run(config: RunConfig, on_progress: Callable[[str], None] = logger.info) -> RunReport:
    """Evaluate a model on MedTEB tasks through ``mteb.evaluate`` and write mteb result files.

    Args:
        config: what to run (see :class:`RunConfig`).
        on_progress: receives one line per step (the CLI prints them).

    Returns:
        A :class:`RunReport` with one outcome per requested task, in benchmark order.

    Raises:
        MedtebError: bad task names, bad local data, an unloadable model, or no task has data.
    """
    if config.overwrite_strategy not in OVERWRITE_STRATEGIES:
        raise MedtebError(f"unknown overwrite strategy {config.overwrite_strategy!r}; "
                          f"choose one of {', '.join(OVERWRITE_STRATEGIES)}")
    if config.batch_size is not None and config.batch_size < 1:
        raise MedtebError(f"batch size must be a positive integer, got {config.batch_size}")
    from medteb._hub import decide_hub_access

    decide_hub_access()  # once, before any dataset or model is looked up
    ready, skipped = prepare_tasks(config.tasks, config.data_dir, config.eval_splits, on_progress)
    if not ready:
        reasons = "; ".join(f"{o.name}: {o.skipped}" if not o.skipped.startswith(o.name)
                            else o.skipped for o in skipped if o.skipped)
        raise DataUnavailableError(f"no task has data to evaluate. {reasons}")
    from medteb.evaluation.hidden_labels import require_prediction_folder
    from medteb.models.kinds import RunNotes
    from medteb.results.manifest import record_run  # run_manifest.yaml: how to re-run it

    require_prediction_folder(ready, config.prediction_folder)  # before the model loads
    model = load_run_model(config.model, config.model_revision, config.device)
    filed = _filed_as(model, ready, on_progress)
    outcomes = {o.name: o for o in skipped}
    outcomes.update(_evaluate(filed, ready, config, on_progress))
    record_run(config, filed, ready, outcomes.values())
    meta = filed.mteb_model_meta
    order = config.tasks or list(load_definitions())
    return RunReport(
        model_name=str(meta.name), model_revision=str(meta.revision),
        outcomes=[outcomes[n] for n in order if n in outcomes],
        output_folder=Path(config.output_folder),
        notes=model.run_notes() if isinstance(model, RunNotes) else [],
    )


def _evaluate(model: Any, ready: Sequence[AbsTask], config: RunConfig,
              on_progress: Callable[[str], None]) -> dict[str, TaskOutcome]:
    """Evaluate each ready task through ``mteb.evaluate``; one outcome per task."""
    import mteb

    from medteb.evaluation.search import ExactSearch, supports
    from medteb.results.layout import ResultsFolder, model_folder

    evaluated = ExactSearch(model) if supports(model) else model
    meta = model.mteb_model_meta
    cache = ResultsFolder(config.output_folder)
    predictions = (None if config.prediction_folder is None  # one folder per model revision
                   else model_folder(config.prediction_folder, meta))
    encode_kwargs: dict[str, Any] = {"show_progress_bar": config.show_progress}
    if config.batch_size is not None:
        encode_kwargs["batch_size"] = config.batch_size
    outcomes: dict[str, TaskOutcome] = {}
    for i, task in enumerate(ready, start=1):
        name = task.metadata.name
        on_progress(f"[{i}/{len(ready)}] {name} ({_data_label(task)})")
        strategy = _strategy_for(task, meta, cache, config.overwrite_strategy, on_progress)
        path = cache.get_task_result_path(name, meta)
        if (predictions is not None and strategy == "only-missing" and path.is_file()
                and not (predictions / task.prediction_file_name).is_file()):
            # a cached result without predictions: evaluate again (nothing to say when no result)
            on_progress(f"  no saved predictions in {predictions}: evaluating again to write them")
            strategy = "always"
        if not getattr(task, "labelled", True):  # a hidden-label release: predictions only
            from medteb.evaluation.hidden_labels import predict_only

            outcomes[name] = TaskOutcome(name, task.metadata.main_score, data=_data_label(task),
                                         **predict_only(evaluated, task, predictions,
                                                        encode_kwargs, config.show_progress))
            continue
        before = _stat(path)
        try:
            result = mteb.evaluate(
                evaluated, task, cache=cache, overwrite_strategy=strategy,
                encode_kwargs=dict(encode_kwargs), show_progress_bar=config.show_progress,
                prediction_folder=predictions,
            )
            score = float(result.task_results[0].get_score())
        except Exception as err:  # one task's failure must not lose the others' results
            logger.exception("%s failed", name)
            outcomes[name] = TaskOutcome(name, task.metadata.main_score, data=_data_label(task),
                                         failed=f"{type(err).__name__}: {err}")
            continue
        cached = before is not None and before == _stat(path)
        if cached:
            on_progress(f"  cached: {path} (--overwrite-strategy always evaluates again)")
        if not math.isfinite(score):
            outcomes[name] = TaskOutcome(name, task.metadata.main_score, data=_data_label(task),
                                         failed=_undefined_score(task, score, path))
            continue
        outcomes[name] = TaskOutcome(name, task.metadata.main_score, score=score,
                                     data=_data_label(task), result_path=path, cached=cached)
    return outcomes


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _undefined_score(task: AbsTask, score: float, path: Path) -> str:
    """Why a NaN/inf main score is a failure; its result file is removed so nothing reads it."""
    path.unlink(missing_ok=True)
    return (f"main score {task.metadata.main_score} is undefined ({score}), e.g. every "
            "embedding is the same, so there is no correlation or ranking; no result was kept")


def results_revision(revision: str, tasks: Sequence[AbsTask]) -> str:
    """The model revision results are filed under: ``<revision>-sample`` when any of ``tasks``
    ran on the bundled sample, else ``revision`` (see
    :func:`~medteb.results.revisions.filing_revision`)."""
    return filing_revision(revision, any_sample(t.metadata.revision for t in tasks))


def _filed_as(model: MTEBModels, ready: Sequence[AbsTask],
              on_progress: Callable[[str], None]) -> MTEBModels:
    """The model as its results are filed: ``model`` itself, or — for a run on the bundled
    sample — a shallow copy whose meta has :func:`results_revision`. The caller's model is
    never changed (the copy shares its weights, caches and counts)."""
    meta = model.mteb_model_meta
    revision = results_revision(str(meta.revision or "unknown"), ready)
    if revision == str(meta.revision):
        return model
    filed = copy.copy(model)
    filed.mteb_model_meta = meta.model_copy(update={"revision": revision})
    on_progress(f"Sample data: results are filed under revision {revision}, apart from "
                "this model's results on benchmark data")
    return filed


def _strategy_for(task: AbsTask, meta: Any, cache: Any, strategy: str,
                  on_progress: Callable[[str], None]) -> str:
    """Re-evaluate a task whose stored result was computed on other data.

    mteb's "only-missing" keeps a stored result even when the dataset revision changed; for
    MedTEB's local data (whose revision is a content hash) that would report a score for data
    that is no longer there, so such a result is recomputed and replaced.
    """
    if strategy != "only-missing":
        return strategy
    existing = cache.load_task_result(task.metadata.name, meta)
    if existing is not None and existing.dataset_revision != task.metadata.revision:
        on_progress(f"  stored result was computed on data revision {existing.dataset_revision}, "
                    f"now {task.metadata.revision}: re-evaluating")
        return "always"
    return strategy

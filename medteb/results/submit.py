"""Validate a submission (a folder as ``medteb run`` writes it) and plan its copy into results/.

Pure: :func:`plan_submission` reads the submitted folder (and, to check revisions and recompute
scores, the task data) and returns the exact files to write, or raises :class:`SubmissionError`
listing every problem at once. Writing, atomically, is the CLI's job (``medteb submit``).

Dataset revisions (see docs/submitting_results.md):

* CMedQAv1/v2 results must carry mteb's pinned revision of the task;
* a MedTEB task's result must carry the revision of its published release (``task.yaml``
  ``source.huggingface.revision``). The official data is not published yet, so there is no
  such revision and benchmark results for the new tasks cannot be accepted; results computed
  on the bundled sample (``sample-<hash>`` equal to the sample shipped with this version) go to
  the separate ``sample`` board, a smoke test that is never ranked with benchmark results.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from medteb.benchmark.data.sources import any_sample
from medteb.benchmark.definitions import BENCHMARK_ORDER, NEW_TASKS
from medteb.errors import ResultsError, SubmissionError
from medteb.results.checks import check_identity, check_result_files, read_meta
from medteb.results.layout import (
    PROVENANCE_KEY,
    SPEED_FILE,
    SUBMISSION_FILE,
    HiddenTask,
    Submission,
)
from medteb.results.manifest import MANIFEST_FILE
from medteb.results.parameters import parameter_counts
from medteb.results.revisions import check_revisions, sample_apart

_COPIED = ("model_meta.json", "run_settings.jsonl", MANIFEST_FILE, SPEED_FILE)


@dataclass(frozen=True)
class SubmitOptions:
    """What the submitter declares; mirrors ``medteb submit``'s flags."""

    setting: str | None = None
    training_datasets: Sequence[str] | None = None
    replace: bool = False
    predictions: Path | None = None
    data_dir: str | None = None
    #: ``--parameters``: (N,) for a model, (QUERY, DOCUMENT) for a pair, where model_meta.json
    #: has no count (a served model's is unknown to ``medteb run``)
    parameters: tuple[int, ...] | None = None
    releases_dir: str | None = None  # where results on a release find it (release.manifest)
    contamination_report: Path | None = None  # an audit to attach (results.overlap)
    #: ``--labels``: the label folder of a hidden-label release; with ``hidden_labels``, the
    #: {task: HiddenTask} scored on it (set by :mod:`medteb.results.hidden`)
    labels: str | None = None
    hidden_labels: dict[str, HiddenTask] = field(default_factory=dict)
    #: CI (``medteb submit --check`` without predictions): the entry's ``submission.yaml``;
    #: its verification is taken as declared, its per-query files checked against its scores
    declared: Submission | None = None


@dataclass(frozen=True)
class PlannedEntry:
    """One model revision to add: its folder under results/ and the files' bytes."""

    folder: str  # "<org__model>/<revision>"
    files: dict[str, bytes]
    submission: Submission
    replaces: bool = False


@dataclass(frozen=True)
class SubmissionPlan:
    """Everything ``medteb submit`` will write, decided before anything is written."""

    entries: tuple[PlannedEntry, ...]

    def to_markdown(self) -> str:
        lines = []
        for e in self.entries:
            verb = "replaces" if e.replaces else "adds"
            check = "scores verified from predictions" if e.submission.verified else \
                "scores as claimed (no predictions given)"
            lines.append(f"- {e.folder}: {verb} {e.submission.display_name!r} on the "
                         f"{e.submission.setting!r} board; {check}")
        return "\n".join(lines) + "\n"


@dataclass
class DataContext:
    """Loaded tasks, shared between folders of one submission."""

    data_dir: str | None
    releases_dir: str | None = None
    labels: str | None = None  # the label folder of a hidden-label release
    tasks: dict[tuple[str, str], Any] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def _data_dir(self, kind: str) -> str | None:
        if kind == "sample":
            return "sample"
        if kind == "labels":
            return self.labels
        if kind.startswith("release:"):
            from medteb.release.manifest import release_folder

            return str(release_folder(self.releases_dir, kind.removeprefix("release:")))
        return self.data_dir

    def task(self, name: str, kind: str) -> Any:
        """The task with its data loaded (``kind``: 'sample', 'official', 'release:V' or
        'labels'); raises LookupError on failure."""
        key = (name, kind)
        if key in self.failures:
            raise LookupError(self.failures[key])
        if key not in self.tasks:
            from medteb.benchmark.tasks import get_task

            try:
                task = get_task(name, data_dir=self._data_dir(kind))
                task.load_data()
            except Exception as err:
                self.failures[key] = f"{type(err).__name__}: {err}"
                raise LookupError(self.failures[key]) from err
            self.tasks[key] = task
        return self.tasks[key]


def find_result_folders(path: Path) -> list[Path]:
    """The ``<org__model>/<revision>`` folders under ``path`` (itself one, a model folder, or an
    output folder of ``medteb run``)."""
    for depth in ("", "*", "*/*"):
        found = sorted({p.parent for p in path.glob(f"{depth}/*.json" if depth else "*.json")})
        if found:
            return found
    return []


def plan_submission(path: str | Path, results_dir: str | Path,
                    options: SubmitOptions = SubmitOptions(),
                    context: DataContext | None = None) -> SubmissionPlan:
    """Validate every result folder under ``path`` and plan their copy into ``results_dir``.

    Raises:
        SubmissionError: with every problem found (nothing may be written then).
    """
    root, results = Path(path), Path(results_dir)
    if not root.is_dir():
        raise SubmissionError(str(root), [f"{root}: no such folder"])
    folders = find_result_folders(root)
    if not folders:
        raise SubmissionError(str(root), [
            f"{root}: no result files found; expected <org__model>/<revision>/<TaskName>.json "
            "as `medteb run` writes them"])
    if context is None:  # a caller that loaded the data already passes its own
        context = DataContext(options.data_dir, options.releases_dir, options.labels)
    problems: list[str] = []
    audit = _attached_audit(options.contamination_report, problems)
    entries = []
    for folder in folders:
        entry = _check_folder(folder, root, results, options, context, problems)
        if entry is not None:
            entries.append(_with_audit(entry, folder, audit, problems))
    if problems:
        raise SubmissionError(str(root), problems)
    return SubmissionPlan(tuple(entries))


def _attached_audit(path: Path | None, problems: list[str]) -> bytes | None:
    """The ``contamination.yaml`` bytes of ``--contamination-report``, validated."""
    if path is None:
        return None
    from medteb.results.overlap import read_audit

    try:
        return read_audit(path).to_yaml().encode("utf-8")
    except ResultsError as err:
        problems.append(str(err))
        return None


def _with_audit(entry: PlannedEntry, folder: Path, audit: bytes | None,
                problems: list[str]) -> PlannedEntry:
    """The entry with its contamination audit: ``--contamination-report``'s, else the one the
    folder already holds (a resubmitted entry), validated."""
    from medteb.results.overlap import AUDIT_FILE, read_audit

    if audit is None and (folder / AUDIT_FILE).is_file():
        try:
            audit = read_audit(folder / AUDIT_FILE).to_yaml().encode("utf-8")
        except ResultsError as err:
            problems.append(str(err))
    if audit is None:
        return entry
    return replace(entry, files={**entry.files, AUDIT_FILE: audit})


def _check_folder(folder: Path, root: Path, results: Path, options: SubmitOptions,
                  context: DataContext, problems: list[str]) -> PlannedEntry | None:
    where = str(folder.relative_to(root)) if folder != root else folder.name
    start = len(problems)
    meta = read_meta(folder, where, problems)
    name, revision = check_identity(meta, where, problems)
    if problems[start:]:
        return None
    declared = f"{name.replace('/', '__')}/{revision}"
    if folder != root and (folder.parent.name, folder.name) != tuple(declared.split("/")):
        problems.append(f"{where}: inconsistent model meta: the folder says "
                        f"{folder.parent.name}/{folder.name} but model_meta.json says {declared}")
    params, counted = parameter_counts(meta, options.parameters, where, problems)
    results_found = check_result_files(folder, where, problems)
    sample = any_sample(results_found.values())
    stored_revision = sample_apart(where, revision, results_found, sample, problems)
    target = f"{name.replace('/', '__')}/{stored_revision}"
    setting = _check_setting(where, meta, options, sample, problems)
    required = NEW_TASKS if sample else BENCHMARK_ORDER
    missing = [t for t in required if t not in results_found]
    if missing:
        problems.append(f"{where}: missing tasks of the benchmark: {', '.join(missing)} (the "
                        f"{'sample' if sample else 'MedTEB'} board needs {', '.join(required)})")
    scored_hidden = set(options.hidden_labels) | set(
        options.declared.hidden_labels if options.declared is not None else ())
    check_revisions(where, results_found, sample, context.task, problems, scored_hidden)
    exists = (results / target).exists()
    if exists and not options.replace:
        problems.append(f"{where}: a result for {name} revision {stored_revision} is already in "
                        f"{results / target}; pass --replace to replace it")
    hidden = options.hidden_labels
    verified, per_query = False, {}
    if options.predictions is not None and not problems[start:]:
        found = results_found
        if options.labels is None and options.declared is not None:  # CI with predictions:
            hidden = options.declared.hidden_labels  # no labels: hidden scores as declared
            found = {t: r for t, r in results_found.items() if t not in hidden}
        verified, per_query = _verify(folder, where, (name, revision), found, sample,
                                      options, context, problems)
    elif options.declared is not None and not problems[start:]:  # CI: as declared
        from medteb.results.checks import declared_per_query

        verified, hidden = options.declared.verified, options.declared.hidden_labels
        if verified:
            per_query = declared_per_query(folder, where, (name, stored_revision),
                                           results_found, set(hidden), problems)
    if problems[start:]:
        return None
    entry = _planned_entry(folder, target, {**meta, **counted}, options, results_found,
                           setting, params, verified=verified, replaces=exists, hidden=hidden)
    entry.files.update(_per_query_files(per_query, target))
    return entry


def _verify(folder: Path, where: str, model: tuple[str, str], results_found: dict[str, str],
            sample: bool, options: SubmitOptions, context: DataContext,
            problems: list[str]) -> tuple[bool, dict[str, Any]]:
    """Recompute every score from ``--predictions``: (all matched, {task: per-query scores}).

    Tasks scored on hidden labels are recomputed on the label folder, and keep no per-query
    file: per-query values and STS gold scores would publish the labels."""
    from medteb.results.verify import verify_predictions

    hidden = options.hidden_labels
    per_query: dict[str, Any] = {}

    def load(task: str, kind: str) -> Any:
        return context.task(task, "labels" if task in hidden else kind)

    def keep(task: str, task_obj: Any, saved: dict[str, Any]) -> None:
        from medteb.analysis.perquery import from_predictions
        from medteb.errors import AnalysisError

        if task in hidden:
            return
        try:
            per_query[task] = from_predictions(task_obj, saved)
        except AnalysisError as err:
            problems.append(f"{where}/{task}.json: {err}")

    verified = verify_predictions(folder, where, model, results_found, sample,
                                  options.predictions, load, problems, keep)
    return verified, per_query


def _per_query_files(per_query: dict[str, Any], target: str) -> dict[str, bytes]:
    """``<Task>.per_query.jsonl`` of each verified task: the board's intervals and ranks come
    from them (see docs/analysis.md). They name the revision the entry is filed under."""
    from dataclasses import replace

    from medteb.analysis.perquery import SUFFIX

    revision = target.split("/")[1]
    return {f"{task}{SUFFIX}": replace(scores, model_revision=revision).to_json().encode("utf-8")
            for task, scores in sorted(per_query.items())}


def _planned_entry(folder: Path, target: str, meta: dict[str, Any], options: SubmitOptions,
                   results_found: dict[str, str], setting: str,
                   params: tuple[int | None, int | None], *, verified: bool,
                   replaces: bool, hidden: dict[str, HiddenTask]) -> PlannedEntry:
    """The files an accepted folder adds: its results marked with their provenance, and its
    ``submission.yaml``."""
    declared = _training(meta, options)
    training = None if declared is None else sorted(declared)
    mteb_version = _first_mteb_version(folder, results_found)
    source = (f"reproduced with `medteb run` (mteb {mteb_version}) and added with "
              "`medteb submit`" + ("; main scores recomputed from its predictions"
                                    if verified else "")
              + (f"; {', '.join(sorted(hidden))} scored by the maintainer on labels that are "
                 "not published" if hidden else ""))
    submission = Submission(
        setting=setting, display_name=meta["name"], provenance="reproduced", source=source,
        verified=verified, n_parameters_query=params[0], n_parameters_document=params[1],
        training_datasets=training, hidden_labels=dict(sorted(hidden.items())),
    )
    files = {n: (folder / n).read_bytes() for n in _COPIED if (folder / n).is_file()}
    stored_revision = target.split("/")[1]
    filed = {**meta, "revision": stored_revision}  # the revision it is filed under, the counts
    if filed != json.loads((folder / "model_meta.json").read_text(encoding="utf-8")):
        files["model_meta.json"] = (json.dumps(filed, indent=4, ensure_ascii=False)
                                    + "\n").encode()
    for task in results_found:
        data = json.loads((folder / f"{task}.json").read_text(encoding="utf-8"))
        data[PROVENANCE_KEY] = source
        files[f"{task}.json"] = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
    files[SUBMISSION_FILE] = submission.to_yaml().encode("utf-8")
    return PlannedEntry(target, files, submission, replaces=replaces)


def _first_mteb_version(folder: Path, found: dict[str, str]) -> str:
    for task in found:
        version = json.loads((folder / f"{task}.json").read_text("utf-8")).get("mteb_version")
        if version:
            return str(version)
    return "unknown version"


def _check_setting(where: str, meta: dict[str, Any], options: SubmitOptions, sample: bool,
                   problems: list[str]) -> str:
    declared = options.setting
    if sample:
        if declared not in (None, "sample"):
            problems.append(f"{where}: inconsistent setting: these results were computed on the "
                            f"bundled sample, so they go to the 'sample' board, not {declared!r}; "
                            "drop --setting, or evaluate on the benchmark data")
        return "sample"
    if declared is None:
        problems.append(f"{where}: missing setting: pass --setting zero-shot or --setting "
                        "fine-tuned (zero-shot and fine-tuned results are never ranked together)")
        return "zero-shot"
    if declared == "sample":
        problems.append(f"{where}: inconsistent setting 'sample': no result was computed on "
                        "the bundled sample")
        return declared
    meta_training = meta.get("training_datasets")
    declared_training = None if options.training_datasets is None else {
        t for t in options.training_datasets if t != "none"}  # 'none': an empty list
    if meta_training is not None and declared_training is not None and \
            set(meta_training) != declared_training:
        problems.append(f"{where}: inconsistent training data: model_meta.json declares "
                        f"{sorted(meta_training)}, --training-data "
                        f"{sorted(options.training_datasets)}")
    training = _training(meta, options)
    if training is None:
        problems.append(f"{where}: missing training data: model_meta.json has training_datasets "
                        "null; declare it with --training-data NAME ... (mteb task names of the "
                        "training data, or 'none')")
        return declared
    seen = sorted(set(training) & set(NEW_TASKS))
    if declared == "zero-shot" and seen:
        problems.append(f"{where}: inconsistent setting: zero-shot, but the training data "
                        f"includes MedTEB's {', '.join(seen)}; use --setting fine-tuned")
    if declared == "fine-tuned" and not seen:
        problems.append(f"{where}: inconsistent setting: fine-tuned, but the training data "
                        f"names none of MedTEB's training splits ({', '.join(NEW_TASKS)})")
    return declared


def _training(meta: dict[str, Any], options: SubmitOptions) -> list[str] | None:
    if meta.get("training_datasets") is not None:
        return list(meta["training_datasets"])
    if options.training_datasets is None:
        return None
    return [t for t in options.training_datasets if t != "none"]

"""Where results live: mteb's result files in the layout ``<folder>/<org__model>/<revision>/``.

mteb's ``ResultCache(path)`` writes under ``path/results/``; MedTEB's results folder *is* that
level (``./results`` by default, the same layout as this repository's ``results/``), so
``ResultCache(parent_of_results_folder)`` and ``mteb.load_results`` read it unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mteb.cache import ResultCache
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medteb.benchmark.data.sources import any_sample
from medteb.benchmark.definitions import SETTINGS
from medteb.errors import ResultsError
from medteb.results.speed_record import SpeedResult


class ResultsFolder(ResultCache):
    """An mteb ``ResultCache`` that stores results directly in ``folder`` (no ``results/`` level).

    >>> ResultsFolder("out").get_task_result_path("MedTEB-STS", "org/m", "rev")  # doctest: +SKIP
    PosixPath('out/org__m/rev/MedTEB-STS.json')
    """

    def __init__(self, folder: str | Path) -> None:
        super().__init__(folder)

    def get_task_result_path(self, task_name: str, model_name: Any,
                             model_revision: str | None = None, remote: bool = False,
                             experiment_name: str | None = None) -> Path:
        """mteb's path for a result, with the ``results/`` level removed for local results."""
        path = super().get_task_result_path(task_name, model_name, model_revision,
                                            remote=remote, experiment_name=experiment_name)
        if remote:
            return path
        return self.cache_path / path.relative_to(self.cache_path / "results")


def model_folder(root: str | Path, meta: Any) -> Path:
    """``<root>/<org__model>/<revision>``: where one model revision's files go (mteb's naming).

    Also the layout of ``--prediction-folder``, so that each model's predictions stay apart.
    """
    return ResultsFolder(root).get_task_result_path("_", meta).parent


def predictions_file(root: str | Path, task: str, model_name: str, revision: str) -> Path:
    """A task's saved predictions under ``root``: in the model's own folder (``medteb run``
    writes there), else ``<root>/<task>_predictions.json`` (mteb's flat layout)."""
    name = f"{task}_predictions.json"
    nested = ResultsFolder(root).get_task_result_path("_", model_name, revision).parent / name
    return nested if nested.is_file() else Path(root) / name


def speed_file(root: str | Path, model_name: str, revision: str) -> Path:
    """Where ``medteb speed`` files its record:
    ``<root>/<org__model>/<revision>/MedTEB-Speed.json``, next to the task results of the same
    model revision (mteb's naming, as for those)."""
    return ResultsFolder(root).get_task_result_path(SPEED_TASK, model_name, revision)


# --- MedTEB's records next to mteb's result files -------------------------------------------
#
# A revision folder in ``results/`` holds mteb's files plus two of MedTEB's own:
#
#   submission.yaml     the entry's setting, display name, provenance, parameters (Q/D) and
#                       training data (:class:`Submission`); YAML so that mteb's loaders, which
#                       read every ``*.json`` of the folder as a TaskResult, never see it.
#   MedTEB-Speed.json   query throughput (:class:`SpeedResult`), written by ``medteb speed``;
#                       shaped as an mteb TaskResult so that mteb's loaders read it unharmed.
#
# Each task file also carries a top-level ``"medteb_provenance"`` string (mteb ignores unknown
# top-level keys), so that a copied file still says where its numbers come from.

SUBMISSION_FILE = "submission.yaml"
SPEED_FILE = "MedTEB-Speed.json"
SPEED_TASK = "MedTEB-Speed"
PROVENANCE_KEY = "medteb_provenance"

#: the boards of the leaderboard, in the order they are shown
SETTING_TITLES = {
    "zero-shot": "Zero-shot",
    "fine-tuned": "Fine-tuned on MedTEB's training splits",
    "sample": "Sample (smoke test, not the benchmark)",
}


class HiddenTask(BaseModel):
    """A task the maintainer scored on labels that are not published: the labels' data revision
    and the score's 95% bootstrap interval (0–1), computed from per-query scores that stay
    private (:func:`medteb.results.board_stats.task_interval`, the board's own computation)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    labels_revision: str = Field(min_length=1)
    interval: tuple[float, float]


class Submission(BaseModel):
    """``submission.yaml``: what a results folder is, for the leaderboard.

    Attributes:
        setting: ``zero-shot`` (no MedTEB training split in the training data), ``fine-tuned``
            (trained on MedTEB's training splits) or ``sample`` (computed on the bundled sample:
            a smoke test, never ranked with benchmark results).
        display_name: the name shown on the leaderboard.
        provenance: ``reported`` (copied from a publication) or ``reproduced`` (computed by
            ``medteb run`` and ingested by ``medteb submit``).
        source: where the numbers come from, in words (shown on the leaderboard).
        verified: the main scores were recomputed from the run's saved predictions.
        n_parameters_query / n_parameters_document: the encoders' sizes (equal when symmetric).
        training_datasets: mteb task names of the training data (``ModelMeta.training_datasets``);
            null: not declared (the board marks the entry's scores "unknown" overlap).
        hidden_labels: {task: :class:`HiddenTask`} of the tasks the maintainer scored on
            labels that are not published (``medteb submit --labels``); absent: none.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    setting: Literal[SETTINGS]  # type: ignore[valid-type]
    display_name: str = Field(min_length=1, max_length=80)
    provenance: Literal["reported", "reproduced"]
    source: str = Field(min_length=1)
    verified: bool = False
    n_parameters_query: int | None = Field(default=None, ge=0)
    n_parameters_document: int | None = Field(default=None, ge=0)
    training_datasets: list[str] | None = Field(default_factory=list)
    hidden_labels: dict[str, HiddenTask] = Field(default_factory=dict)

    def to_yaml(self) -> str:
        """The file's text: stable key order, one key a line (``hidden_labels`` only when
        some task was scored on hidden labels)."""
        import yaml

        data = self.model_dump(mode="json")
        if not data["hidden_labels"]:
            del data["hidden_labels"]
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def check_not_leaderboard_source(folder: str | Path) -> None:
    """Refuse to write a run's output into a folder that holds leaderboard entries.

    Raises:
        ResultsError: ``folder`` has a ``<org__model>/<revision>/submission.yaml``.
    """
    root = Path(folder)
    entry = next(root.glob(f"*/*/{SUBMISSION_FILE}"), None) if root.is_dir() else None
    if entry is not None:
        raise ResultsError(
            f"{root} holds leaderboard entries ({entry.parent.relative_to(root)} has a "
            f"{SUBMISSION_FILE}); write runs to another --output-folder (default ./runs) and "
            "add them with `medteb submit`, the only writer of the leaderboard's results")


def read_submission(folder: Path) -> Submission:
    """Read and validate ``folder/submission.yaml``.

    Raises:
        ResultsError: the file is missing, not YAML, or breaks the schema.
    """
    import yaml

    path = folder / SUBMISSION_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Submission.model_validate(raw)
    except FileNotFoundError as err:
        raise ResultsError(f"{path}: missing; results enter results/ through `medteb submit`, "
                           "which writes it") from err
    except (OSError, yaml.YAMLError, ValidationError) as err:
        raise ResultsError(f"{path}: {_short(err)}") from err


def read_speed(folder: Path) -> SpeedResult | None:
    """Read ``folder/MedTEB-Speed.json`` if present.

    Raises:
        ResultsError: the file exists but breaks the schema.
    """
    path = folder / SPEED_FILE
    if not path.is_file():
        return None
    try:
        speed = SpeedResult.model_validate_json(path.read_text(encoding="utf-8"))
        speed.measurement  # noqa: B018  (raises ValueError when empty)
        return speed
    except (ValidationError, ValueError) as err:
        raise ResultsError(f"{path}: not a valid {SPEED_TASK} record: {_short(err)} "
                           "(schema: medteb.results.speed_record.SpeedResult)") from err


def _web_link(value: Any) -> str | None:
    """An http(s) URL from ``model_meta.json``'s ``reference``, else None (never a script)."""
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return None


def _short(err: Exception) -> str:
    if isinstance(err, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}"
                         for e in err.errors())
    return str(err)


@dataclass(frozen=True)
class Entry:
    """One model revision of ``results/``: its scores (0–1), record and speed."""

    model_name: str
    revision: str
    submission: Submission
    scores: dict[str, float]
    speed: SpeedResult | None = None
    folder: str = ""
    reference: str | None = None
    release: str | None = None  # the MedTEB release its tasks were read from (data revision)
    overlap: dict[str, str] = field(default_factory=dict)  # task -> results.overlap mark
    reproduced: tuple[str, str] | None = None  # the latest reproduction: (date, hardware)
    # task -> release.postcutoff.PostCutoff; filled by results.outputs.board_entries
    post_cutoff: dict[str, Any] = field(default_factory=dict)
    path: Path | None = field(default=None, compare=False)  # the folder it was read from
    # {task: per-query scores} scored from a run's predictions (results.runboard); a results/
    # entry's are read from its folder instead (results.board_stats.entry_per_query)
    per_query: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def setting(self) -> str:
        """The board the entry belongs to."""
        return self.submission.setting


def load_entries(results_dir: str | Path) -> tuple[list[Entry], list[str]]:
    """Read every ``<org__model>/<revision>/`` folder of a results folder.

    Task results are read with mteb's ``TaskResult.from_disk``; only the benchmark's tasks are
    read (their main score, mean over the test split's subsets).

    Returns:
        The entries, sorted by folder, and one line per folder that was passed over (with why).

    Raises:
        ResultsError: a folder has results but a broken ``submission.yaml`` / result file.
    """
    from medteb.results.overlap import entry_audit, score_overlap
    from medteb.results.reproductions import latest_reproduction

    root = Path(results_dir)
    if not root.is_dir():
        raise ResultsError(f"results folder {str(root)!r} does not exist")
    entries: list[Entry] = []
    skipped: list[str] = []
    for folder in _revision_folders(root):
        where = f"{folder.parent.name}/{folder.name}"
        if not (folder / "model_meta.json").is_file():
            skipped.append(f"{where}: no model_meta.json")
            continue
        if not (folder / SUBMISSION_FILE).is_file():
            skipped.append(f"{where}: no {SUBMISSION_FILE} (add results with `medteb submit`)")
            continue
        submission = read_submission(folder)
        meta = json.loads((folder / "model_meta.json").read_text(encoding="utf-8"))
        scores, revisions = _read_scores(folder)
        reference, release = meta.get("reference"), entry_release(revisions, where)
        entries.append(Entry(model_name=str(meta.get("name")), revision=folder.name,
                             submission=submission, scores=scores, speed=read_speed(folder),
                             folder=where, reference=_web_link(reference),
                             release=release,
                             overlap=score_overlap(scores, submission.training_datasets,
                                                   entry_audit(folder)),
                             reproduced=latest_reproduction(folder), path=folder))
    return entries, skipped



@dataclass(frozen=True)
class RunEntry:
    """A model revision as ``medteb run`` or mteb writes it: no ``submission.yaml``, so no
    declared setting. ``sample``: a MedTEB task was computed on the bundled sample."""

    model_name: str
    revision: str
    scores: dict[str, float]
    sample: bool


def load_run_entries(folder: str | Path) -> list[RunEntry]:
    """The model revisions of a run's output folder that have no ``submission.yaml``.

    ``folder`` is a ``medteb run --output-folder`` (``<org__model>/<revision>/``), or an mteb
    cache with a ``results/`` level in between.

    Raises:
        ResultsError: the folder does not exist, or a result file is unreadable.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ResultsError(f"results folder {str(root)!r} does not exist")
    root = runs_root(root)
    runs = []
    for revision in _revision_folders(root):
        meta_path = revision / "model_meta.json"
        if (revision / SUBMISSION_FILE).is_file() or not meta_path.is_file():
            continue
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        scores, revisions = _read_scores(revision)
        runs.append(RunEntry(model_name=str(meta.get("name") or revision.parent.name),
                             revision=revision.name, scores=scores,
                             sample=any_sample(revisions.values())))
    return runs


def runs_root(folder: Path) -> Path:
    """A run folder's ``<org__model>/`` level: ``folder``, or its ``results/`` (mteb's cache)."""
    if not any(folder.glob("*/*/model_meta.json")) and (folder / "results").is_dir():
        return folder / "results"  # mteb's ResultCache layout
    return folder


def entry_release(revisions: dict[str, str], where: str) -> str | None:
    """The release an entry's MedTEB tasks were read from (their dataset revisions
    ``release-V-<hash>``); None when none was.

    Raises:
        ResultsError: the tasks were read from different releases, or some from none.
    """
    from medteb.benchmark.data.sources import release_of_revision
    from medteb.benchmark.definitions import NEW_TASKS

    found = {t: release_of_revision(r) for t, r in revisions.items() if t in NEW_TASKS}
    releases = set(found.values())
    if len(releases) > 1:
        raise ResultsError(f"{where}: its tasks were read from different releases ("
                           + ", ".join(f"{t} {v or 'no release'}" for t, v in sorted(
                               found.items())) + "); an entry is on one release")
    return next(iter(releases), None)


def _revision_folders(root: Path) -> list[Path]:
    # hidden folders (a submission's staging folder, .git, ...) are not entries
    return sorted(p for p in root.glob("*/*") if p.is_dir()
                  and not p.parent.name.startswith(".") and not p.name.startswith("."))


def _read_scores(folder: Path) -> tuple[dict[str, float], dict[str, str]]:
    """{task: main score} and {task: dataset revision} of the benchmark's tasks in ``folder``."""
    from mteb.results import TaskResult

    from medteb.benchmark.definitions import BENCHMARK_ORDER

    scores: dict[str, float] = {}
    revisions: dict[str, str] = {}
    for task in BENCHMARK_ORDER:
        path = folder / f"{task}.json"
        if path.is_file():
            try:
                result = TaskResult.from_disk(path)
                scores[task] = float(result.get_score(splits=["test"]))
            except Exception as err:
                raise ResultsError(f"{path}: not a readable mteb result: {err}") from err
            revisions[task] = str(result.dataset_revision)
    return scores, revisions

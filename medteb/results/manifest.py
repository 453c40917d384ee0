"""The reproducibility manifest: what it takes to run a ``medteb run`` again, written beside it.

mteb's ``run_settings.jsonl`` records mteb's own options; ``run_manifest.yaml`` (in the same
``<output>/<org__model>/<revision>/`` folder) records the rest: the model as it was given and
both sides of a pair (ids, revisions, pooling, dtype, max length, truncation, templates), the
data each task ran on (its revision, a content hash for local data), the versions of MedTEB,
mteb, torch and friends, and the hardware. ``medteb reproduce`` reads it back
(:mod:`medteb.results.reproduce`).

It is YAML, like ``submission.yaml``, so that mteb's loaders (which read every ``*.json`` of a
results folder as a task result) never see it. A second run into the same folder adds its
tasks; a task evaluated again replaces its own record.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medteb._fileio import write_atomic
from medteb.errors import ResultsError
from medteb.models.names import API_PREFIX

if TYPE_CHECKING:
    from mteb.abstasks import AbsTask

MANIFEST_FILE = "run_manifest.yaml"
#: the packages whose versions can change a score
VERSIONED = ("medteb", "mteb", "torch", "transformers", "sentence-transformers", "numpy",
             "faiss-cpu", "bm25s")

_STRICT = ConfigDict(extra="forbid", frozen=True)


class SideRecord(BaseModel):
    """One encoder: the name it was given by, its recorded revision, how it embeds."""

    model_config = _STRICT
    model: str  # as given: a Hub name, a local folder, ``bm25-zh``, ``api/<name>``
    name: str  # the name results are filed under (``local/<folder>`` for a folder)
    revision: str
    pooling: str = "auto"  # ``auto``: the model's own (as ``medteb run -m`` loads it)
    max_length: int | None = None  # tokens; longer inputs are truncated to it
    dtype: str | None = None


class TaskRecord(BaseModel):
    """One evaluated task: the data it ran on and the score it got."""

    model_config = _STRICT
    data: str  # where the data came from, in words (a folder, the sample, a Hub dataset)
    data_revision: str
    eval_splits: list[str]
    main_score: str
    score: float | None = None  # None: label-free data, predictions only (nothing scored)


class RunManifest(BaseModel):
    """``run_manifest.yaml``: enough to run a result folder's tasks again.

    Attributes:
        kind: ``model`` (``-m``), ``pair`` (``--query-model``/``--document-model``) or
            ``served`` (``-m api/<name>``).
        model_name / model_revision: the folder's identity (``<org__model>/<revision>``).
        query / document: the sides (for ``model`` and ``served``, the one model twice).
        truncate_dim, query_template, document_template, sts_side: a pair's settings.
        batch_size: the ``--batch-size`` asked for (None: mteb's default).
        tasks: each task's data and score, by task name.
        versions: package versions (None: not installed).
        hardware: platform, Python, CPU count, the requested device and the GPUs seen.
    """

    model_config = _STRICT
    manifest_version: Literal[1] = 1
    kind: Literal["model", "pair", "served"]
    model_name: str
    model_revision: str
    query: SideRecord
    document: SideRecord
    truncate_dim: int | None = None
    query_template: str = "{text}"
    document_template: str = "{text}"
    sts_side: Literal["query", "document"] = "query"
    batch_size: int | None = None
    tasks: dict[str, TaskRecord] = Field(default_factory=dict)
    versions: dict[str, str | None]
    hardware: dict[str, str | int | list[str] | None]
    written: str  # UTC time, ISO 8601

    def to_yaml(self) -> str:
        """The file's text: stable key order, tasks sorted by name."""
        import yaml

        data = self.model_dump()
        data["tasks"] = dict(sorted(data["tasks"].items()))
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def versions() -> dict[str, str | None]:
    """The installed versions of :data:`VERSIONED` (None for a package not installed)."""
    found: dict[str, str | None] = {}
    for package in VERSIONED:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    if found["medteb"] is None:  # run from a checkout that is not installed
        from medteb import __version__

        found["medteb"] = __version__
    return found


def hardware(device: str | None = None) -> dict[str, str | int | list[str] | None]:
    """Where a run happens: platform, Python, CPUs, the requested device, the visible GPUs."""
    gpus: list[str] = []
    if "torch" in sys.modules:  # every encoder imports it; bm25-zh alone never needs it
        torch = sys.modules["torch"]
        if torch.cuda.is_available():
            gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {"platform": platform.platform(), "machine": platform.machine(),
            "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "device": device or "auto", "gpus": gpus}


def read_manifest(folder: str | os.PathLike) -> RunManifest:
    """The manifest of a result folder (``<org__model>/<revision>``).

    Raises:
        ResultsError: no manifest there, or one that does not validate (every problem listed).
    """
    import yaml

    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        raise ResultsError(f"{path}: no run manifest; results written by `medteb run` before "
                           "MedTEB recorded manifests cannot be re-run from the folder alone")
    try:
        return RunManifest.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as err:
        raise ResultsError(f"{path}: not YAML ({' '.join(str(err).split())})") from err
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}"
                             for e in err.errors())
        raise ResultsError(f"{path}: invalid run manifest: {problems}") from err


def build_manifest(config: Any, model: Any, tasks: Sequence[AbsTask],
                   outcomes: Iterable[Any],
                   previous: RunManifest | None = None) -> RunManifest:
    """The manifest of a run.

    Args:
        config: the run's ``RunConfig``.
        model: the loaded model; its ``mteb_model_meta`` is the folder's identity.
        tasks: the tasks evaluated.
        outcomes: their runner ``TaskOutcome``s; only scored tasks are recorded.
        previous: the folder's earlier manifest; its tasks not run again are kept.
    """
    meta = model.mteb_model_meta
    name, revision = str(meta.name), str(meta.revision)
    pair = (meta.loader_kwargs or {}).get("asymmetric")
    fields: dict[str, Any]
    if pair is not None:
        fields = {"kind": "pair", "query": _pair_side(pair["query"]),
                  "document": _pair_side(pair["document"]),
                  **{k: pair[k] for k in ("truncate_dim", "query_template", "document_template",
                                          "sts_side")}}
    else:
        given = config.model if isinstance(config.model, str) else _given_name(config.model,
                                                                                  name)
        side = SideRecord(model=given, name=name, revision=revision,
                          max_length=_max_length(model), dtype=_dtype(model))
        from medteb.models.kinds import kind_of

        kind = "served" if kind_of(given).served else "model"
        fields = {"kind": kind, "query": side, "document": side}
    by_name = {t.metadata.name: t for t in tasks}
    recorded = dict(previous.tasks) if previous is not None else {}
    for outcome in outcomes:
        task = by_name.get(outcome.name)
        if task is None or (outcome.score is None
                            and not getattr(outcome, "predictions_only", False)):
            continue
        recorded[outcome.name] = TaskRecord(
            data=outcome.data or "", data_revision=str(task.metadata.revision),
            eval_splits=list(task.eval_splits), main_score=outcome.main_score,
            score=outcome.score)
    return RunManifest(
        model_name=name, model_revision=revision, batch_size=config.batch_size,
        tasks=recorded, versions=versions(), hardware=hardware(config.device),
        written=datetime.now(timezone.utc).isoformat(timespec="seconds"), **fields)


def record_run(config: Any, model: Any, tasks: Sequence[AbsTask],
               outcomes: Iterable[Any]) -> Path | None:
    """Write (or extend) the run's manifest beside its results; return its path.

    A run with tasks on label-free data (predictions only, nothing scored) also writes it
    beside its predictions, which are handed in; a run with neither writes nothing; the path
    returned is the last one written. An unreadable earlier manifest is
    replaced: it described results that the run just wrote again or cannot vouch for.
    """
    from medteb.results.layout import model_folder

    outcomes = list(outcomes)
    roots = [config.output_folder] if any(o.score is not None for o in outcomes) else []
    if any(getattr(o, "predictions_only", False) for o in outcomes):
        roots.append(config.prediction_folder)  # handed in with the predictions
    path = None
    for root in roots:
        path = model_folder(root, model.mteb_model_meta) / MANIFEST_FILE
        try:
            previous = read_manifest(path.parent) if path.is_file() else None
        except ResultsError:
            previous = None
        write_atomic(path, build_manifest(config, model, tasks, outcomes, previous).to_yaml())
    return path


def _pair_side(side: dict[str, Any]) -> SideRecord:
    return SideRecord(model=str(side.get("model")), name=str(side.get("name")),
                      revision=str(side.get("revision")), pooling=str(side.get("pooling")),
                      max_length=side.get("max_length") or None, dtype=side.get("dtype"))


def _given_name(spec: Any, name: str) -> str:
    """The ``-m`` name of a spec or loaded model: ``api/<model>`` for a served one."""
    from medteb.models.served.encoder import ApiSpec

    return API_PREFIX + spec.model if isinstance(spec, ApiSpec) else name


def _max_length(model: Any) -> int | None:
    inner = getattr(model, "model", None)
    value = getattr(inner, "max_seq_length", None) or getattr(model.mteb_model_meta,
                                                              "max_tokens", None)
    return int(value) if value else None


def _dtype(model: Any) -> str | None:
    parameters = getattr(getattr(model, "model", None), "parameters", None)
    if parameters is None:
        return None
    first = next(iter(parameters()), None)
    return None if first is None else str(first.dtype).removeprefix("torch.")

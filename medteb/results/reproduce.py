"""Re-run a results entry from its manifest and compare its main scores (``medteb reproduce``).

An entry ``results/<org__model>/<revision>/`` carries ``run_manifest.yaml``
(:mod:`medteb.results.manifest`). :func:`reproduce_entry` rebuilds the run from it — the same
model or pair with the same pooling, dtype, max length and templates, the same tasks, data of
the same revision — runs it into a scratch folder, and compares each task's main score with the
entry's own result file: within :data:`TOLERANCE` is reproduced. The model must come out under
the entry's revision (a local model's revision is a fingerprint of its weights, so other weights
cannot pass), and each task's data must have the recorded revision.

A reproduction is recorded in the entry's ``reproductions.yaml`` (:class:`Reproduction`: date,
hardware, versions, the largest difference) by the CLI; nothing here writes into the entry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medteb.benchmark.data.sources import is_sample_revision
from medteb.errors import MedtebError
from medteb.results.manifest import RunManifest, SideRecord, hardware, read_manifest, versions
from medteb.results.reproductions import REPRODUCTIONS_FILE, Reproduction

TOLERANCE = 1e-3  # as the MTEB results repository's check


@dataclass(frozen=True)
class TaskComparison:
    """One task: the entry's main score and the re-run's (None when the re-run has none)."""

    task: str
    recorded: float
    rerun: float | None
    problem: str | None = None  # why the two cannot be compared, or differ

    @property
    def difference(self) -> float | None:
        return None if self.rerun is None else abs(self.rerun - self.recorded)


@dataclass(frozen=True)
class ReproduceReport:
    """The outcome of re-running one entry."""

    entry: str
    tasks: tuple[TaskComparison, ...]
    hardware: dict[str, Any] = field(default_factory=dict)
    date: str = ""

    @property
    def reproduced(self) -> bool:
        return bool(self.tasks) and not any(t.problem for t in self.tasks)

    def problems(self) -> list[str]:
        """One line per differing or incomparable score."""
        return [f"{self.entry}/{t.task}.json: {t.problem}" for t in self.tasks if t.problem]

    def to_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "reproduced": self.reproduced, "date": self.date,
                "hardware": self.hardware,
                "tasks": {t.task: {"recorded": t.recorded, "rerun": t.rerun,
                                   "problem": t.problem} for t in self.tasks}}

    def to_markdown(self) -> str:
        lines = [f"Entry: {self.entry}", "", "| Task | Recorded | Re-run | Difference |",
                 "|---|---:|---:|---:|"]
        for t in self.tasks:
            rerun = "–" if t.rerun is None else f"{t.rerun:.5f}"
            diff = "–" if t.difference is None else f"{t.difference:.5f}"
            lines.append(f"| {t.task} | {t.recorded:.5f} | {rerun} | {diff} |")
        verdict = (f"reproduced: every main score within {TOLERANCE}" if self.reproduced
                   else "NOT reproduced")
        return "\n".join([*lines, "", verdict]) + "\n"


def run_config(manifest: RunManifest, data_dir: str | os.PathLike | None,
               output_folder: str | os.PathLike) -> Any:
    """The ``RunConfig`` that runs the manifest's tasks again into ``output_folder``.

    Raises:
        MedtebError: a served model (its endpoint is not recorded), or no task recorded.
    """
    from medteb.evaluation.runner import RunConfig

    if manifest.kind == "served":
        raise MedtebError(f"{manifest.model_name} is a served model; its endpoint is not "
                          "recorded: re-run it with `medteb run -m api/...` by hand")
    scored = sorted(t for t, record in manifest.tasks.items() if record.score is not None)
    if not scored:
        raise MedtebError(f"{manifest.model_name}: the manifest records no scored task")
    if data_dir is None and all(is_sample_revision(manifest.tasks[t].data_revision)
                                for t in scored):
        data_dir = "sample"
    common = {"tasks": scored, "data_dir": data_dir,
              "output_folder": output_folder, "batch_size": manifest.batch_size,
              "overwrite_strategy": "always", "show_progress": False}
    if manifest.kind == "model":
        side = manifest.query
        return RunConfig(model=side.model, model_revision=_pinned(side), **common)
    from medteb.models.asymmetric import AsymmetricSpec
    from medteb.models.sides import SideConfig

    def config(side: SideRecord) -> SideConfig:
        return SideConfig(model=side.model, pooling=side.pooling, max_length=side.max_length,
                          dtype=side.dtype or "float32", revision=_pinned(side))

    spec = AsymmetricSpec(query=config(manifest.query), document=config(manifest.document),
                          truncate_dim=manifest.truncate_dim, name=manifest.model_name,
                          query_template=manifest.query_template,
                          document_template=manifest.document_template,
                          sts_side=manifest.sts_side, use_store=False)
    spec.check()
    return RunConfig(model=spec, **common)


def _pinned(side: SideRecord) -> str | None:
    """The revision to ask for: a Hub model's recorded commit; None for a local folder (its
    weights' fingerprint is computed again and must match) and for bm25-zh."""
    from medteb.models.kinds import kind_of

    if kind_of(side.model).label in ("local", "bm25"):
        return None
    return side.revision


def reproduce_entry(entry: str | os.PathLike, data_dir: str | os.PathLike | None,
                    output_folder: str | os.PathLike,
                    on_progress: Callable[[str], None] = print) -> ReproduceReport:
    """Re-run ``entry`` (a ``<org__model>/<revision>`` folder) and compare its main scores.

    Raises:
        ResultsError: no readable manifest in the entry.
        MedtebError: the run cannot be rebuilt or started (see :func:`run_config`).
    """
    from medteb.evaluation.runner import run

    folder = Path(entry)
    manifest = read_manifest(folder)
    config = run_config(manifest, data_dir, output_folder)
    report = run(config, on_progress=on_progress)
    rerun_folder = Path(output_folder) / folder.parent.name / report.model_revision
    comparisons = []
    for task in config.tasks:
        recorded = _main_score(folder / f"{task}.json")
        outcome = next((o for o in report.outcomes if o.name == task), None)
        rerun = None if outcome is None else outcome.score
        problem = None
        if report.model_revision != folder.name:
            problem = (f"the model now comes out as revision {report.model_revision}, not "
                       f"{folder.name} (other weights or settings)")
        elif rerun is None:
            problem = f"not re-run: {outcome.skipped or outcome.failed if outcome else 'absent'}"
        else:
            revision = _data_revision(rerun_folder / f"{task}.json")
            wanted = manifest.tasks[task].data_revision
            if revision != wanted:
                problem = (f"data revision {revision} is not the recorded {wanted} (give "
                           "--data-dir with the data the entry was computed on)")
            elif abs(rerun - recorded) > TOLERANCE:
                problem = (f"main score {recorded:.5f} recorded, {rerun:.5f} re-run "
                           f"(difference {abs(rerun - recorded):.5f} > {TOLERANCE})")
        comparisons.append(TaskComparison(task, recorded, rerun, problem))
    return ReproduceReport(entry=folder.as_posix(), tasks=tuple(comparisons),
                           hardware=hardware(), date=_now())


def reproduction_record(report: ReproduceReport) -> Reproduction:
    """What ``reproductions.yaml`` records of a successful reproduction."""
    return Reproduction(date=report.date, hardware=report.hardware, versions=versions(),
                        max_difference=max(t.difference or 0.0 for t in report.tasks),
                        tasks=[t.task for t in report.tasks])


def append_reproduction(entry: str | os.PathLike, record: Reproduction) -> tuple[Path, bytes]:
    """The path and new bytes of the entry's ``reproductions.yaml`` with ``record`` added."""
    import yaml

    path = Path(entry) / REPRODUCTIONS_FILE
    records = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else []
    if not isinstance(records, list):
        raise MedtebError(f"{path}: expected a list of reproductions")
    records.append(record.model_dump())
    return path, yaml.safe_dump(records, sort_keys=False, allow_unicode=True).encode()


def _main_score(path: Path) -> float:
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["scores"]["test"][0][
            "main_score"])
    except (OSError, ValueError, KeyError, IndexError, TypeError) as err:
        raise MedtebError(f"{path}: no readable main score ({err})") from err


def _data_revision(path: Path) -> str | None:
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["dataset_revision"])
    except (OSError, ValueError, KeyError):
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

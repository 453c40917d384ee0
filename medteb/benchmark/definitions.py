"""Reads the declarative task folders in ``tasks/`` (no mteb import here).

Each ``tasks/<TaskName>/task.yaml`` is either a MedTEB task (``kind: medteb``: mteb metadata,
a data source and the bundled sample) or an mteb task reused unchanged (``kind: mteb``).
Installed wheels carry the folder as ``medteb/_tasks``; a source checkout reads ``tasks/``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medteb.errors import TaskDefinitionError

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def tasks_root() -> Path:
    """Return the folder holding one sub-folder per task.

    Returns:
        ``medteb/_tasks`` inside an installed wheel, else the checkout's top-level ``tasks/``.
    """
    for candidate in (_PACKAGE_DIR / "_tasks", _PACKAGE_DIR.parent / "tasks"):
        if candidate.is_dir():
            return candidate
    raise TaskDefinitionError(
        f"MedTEB's task definitions are missing: neither {_PACKAGE_DIR / '_tasks'} nor "
        f"{_PACKAGE_DIR.parent / 'tasks'} exists. Reinstall the package."
    )


#: the leaderboard's settings (boards); defined here so the CLI can list them without mteb
SETTINGS = ("zero-shot", "fine-tuned", "sample")

class HubSource(BaseModel):
    """A published Hugging Face dataset in mteb's layout, pinned to a revision."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    revision: str = Field(min_length=7)


class SourceSpec(BaseModel):
    """Where a MedTEB task's test data comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    huggingface: HubSource | None = None
    sample: str | None = None


class PaperStats(BaseModel):
    """The paper's Table 1 row for the task."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    test: int
    train: int | None = None
    main_metric: str


class TaskDefinition(BaseModel):
    """One ``task.yaml``, validated. ``metadata`` is checked again by mteb's TaskMetadata."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["medteb", "mteb"]
    metadata: dict[str, Any]
    source: SourceSpec = SourceSpec()
    score_range: tuple[float, float] = (0.0, 5.0)
    paper_instruction: str | None = None
    paper: PaperStats
    folder: Path = Field(exclude=True)

    @property
    def name(self) -> str:
        """The task name, as mteb knows it."""
        return str(self.metadata["name"])

    @property
    def type(self) -> str | None:
        """The mteb task type (``Retrieval``, ``Reranking``, ``STS``); None for reused tasks."""
        return self.metadata.get("type")

    @property
    def sample_dir(self) -> Path | None:
        """The bundled sample's folder, if the task ships one."""
        return self.folder / self.source.sample if self.source.sample else None


def load_definition(folder: Path) -> TaskDefinition:
    """Read and validate ``folder/task.yaml``.

    Raises:
        TaskDefinitionError: the file is missing, not YAML, or breaks the schema.
    """
    path = folder / "task.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise TaskDefinitionError(f"{path}: cannot read task definition: {err}") from err
    if not isinstance(raw, dict):
        raise TaskDefinitionError(f"{path}: expected a mapping at the top level")
    try:
        definition = TaskDefinition(**raw, folder=folder)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
        )
        raise TaskDefinitionError(f"{path}: {problems}") from err
    if definition.name != folder.name:
        raise TaskDefinitionError(
            f"{path}: metadata.name {definition.name!r} must equal the folder name {folder.name!r}"
        )
    return definition


@lru_cache(maxsize=1)
def load_definitions() -> dict[str, TaskDefinition]:
    """All task definitions, keyed by task name, in benchmark order (MedTEB tasks first)."""
    folders = sorted(p for p in tasks_root().iterdir() if (p / "task.yaml").is_file())
    definitions = [load_definition(folder) for folder in folders]
    order = {name: i for i, name in enumerate(BENCHMARK_ORDER)}
    definitions.sort(key=lambda d: (order.get(d.name, len(order)), d.name))
    return {d.name: d for d in definitions}


# The paper's column order (Table 3): public CMedQA tasks, then the three new tasks.
BENCHMARK_ORDER = (
    "CMedQAv1-reranking",
    "CMedQAv2-reranking",
    "MedTEB-Retrieval",
    "MedTEB-Rerank",
    "MedTEB-STS",
)
CMEDQA_TASKS = BENCHMARK_ORDER[:2]
NEW_TASKS = BENCHMARK_ORDER[2:]

#: The paper's three averages (Table 3 "Avg", "Avg CMed", "Avg New"): label -> tasks averaged.
#: The run's table, the leaderboard's columns and the mteb benchmark's groups all use these.
AVERAGES: dict[str, tuple[str, ...]] = {
    "Avg": BENCHMARK_ORDER,
    "CMedQA avg": CMEDQA_TASKS,
    "New-task avg": NEW_TASKS,
}


def mean(values: Sequence[float | None]) -> float | None:
    """The mean, or None if any value is missing (the paper averages complete rows only)."""
    if not values or any(v is None for v in values):
        return None
    return math.fsum(values) / len(values)  # type: ignore[arg-type]


def paper_averages(scores: Mapping[str, float | None]) -> dict[str, float | None]:
    """The :data:`AVERAGES` of task scores (task name -> score); None where a task is missing.

    >>> paper_averages({"CMedQAv1-reranking": 0.5, "CMedQAv2-reranking": 0.7})["CMedQA avg"]
    0.6
    """
    return {label: mean([scores.get(t) for t in tasks]) for label, tasks in AVERAGES.items()}

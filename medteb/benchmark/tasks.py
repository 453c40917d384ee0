"""tasks/ -> mteb task classes, their registration in mteb, and the ``MedTEB`` benchmark.

Importing this module imports mteb. ``import medteb`` does not: it installs an import hook that
calls :func:`register` as soon as mteb is imported, so ``mteb.get_task("MedTEB-Retrieval")``
works after ``import medteb`` in either order.

mteb 2.26 has no public registration API; :func:`register` adds the classes to the registries
mteb builds at import through :mod:`medteb._mteb` (the one module that touches mteb's private
names). The tests check the result through mteb's public functions (``mteb.get_task``,
``mteb.get_benchmark``), so an mteb upgrade that moves them fails loudly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import mteb
from datasets import Dataset
from mteb.abstasks.retrieval import AbsTaskRetrieval
from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData
from mteb.abstasks.sts import AbsTaskSTS
from mteb.abstasks.task_metadata import TaskMetadata
from mteb.benchmarks.benchmark import Benchmark, BenchmarkAggregation, CustomGroup, CustomGrouping

from medteb.benchmark.citation import BENCHMARK_CITATION
from medteb.benchmark.data.formats import read_retrieval, read_sts
from medteb.benchmark.data.sources import DataSource, resolve_source
from medteb.benchmark.definitions import (
    AVERAGES,
    BENCHMARK_ORDER,
    TaskDefinition,
    load_definitions,
)
from medteb.errors import TaskDefinitionError, UnknownTaskError

if TYPE_CHECKING:
    from mteb.abstasks import AbsTask

logger = logging.getLogger(__name__)

BENCHMARK_NAME = "MedTEB"
#: the published version's name (ACL 2026): ``mteb.get_benchmark("CMedTEB")`` finds the benchmark
BENCHMARK_ALIASES = ("CMedTEB",)
GROUPING_NAME = "MedTEB"


class MedtebTaskMixin:
    """Data loading shared by MedTEB's tasks: local directory, bundled sample or HF release.

    Attributes:
        definition: the task's ``task.yaml``.
        data_dir: where to read data from
            (see :func:`medteb.benchmark.data.sources.resolve_source`).
        data_source: the source actually used, set by :meth:`load_data`.
    """

    definition: ClassVar[TaskDefinition]
    metadata: TaskMetadata
    #: False once data without labels is loaded (a hidden-label release; docs/data_format.md)
    labelled: bool = True
    data_dir: str | os.PathLike | None
    data_source: DataSource | None

    def __init__(self, *args: Any, data_dir: str | os.PathLike | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        # The revision becomes the data's content hash on load: keep it per instance.
        self.metadata = self.metadata.model_copy(deep=True)
        self.data_dir = data_dir
        self.data_source = None

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """Resolve the data source, validate the data and load it (a no-op once loaded).

        Raises:
            DataUnavailableError: no source can be reached.
            DataValidationError: the local data breaks the format; nothing is loaded.
        """
        if self.data_loaded:  # type: ignore[attr-defined]
            return
        source = resolve_source(self.definition, self.data_dir)
        if source.kind == "huggingface":
            self.metadata.dataset.update(path=source.location, revision=source.revision)
            super().load_data(num_proc=num_proc, **kwargs)  # type: ignore[misc]
        else:
            self._load_local(source)
            self.data_loaded = True
        self.data_source = source

    def _load_local(self, source: DataSource) -> None:
        folder = Path(source.location)
        self.dataset = {"default": {}}
        revisions = []
        for split in self.eval_splits:
            self.dataset["default"][split], revision = self._read_split(folder, split)
            revisions.append(revision)
        from medteb.release.manifest import release_version

        version = release_version(folder.parent) if source.kind == "local" else None
        self.metadata.dataset["revision"] = source.data_revision(revisions, release=version)

    def _read_split(self, folder: Path, split: str) -> tuple[Any, str]:
        """Read and validate one split; return mteb's split data and its content hash."""
        raise NotImplementedError


class MedtebRetrievalTask(MedtebTaskMixin, AbsTaskRetrieval):
    """A MedTEB Retrieval or Reranking task (Reranking: each query scored over its candidates)."""

    def _read_split(self, folder: Path, split: str) -> tuple[RetrievalSplitData, str]:
        data = read_retrieval(folder, split, reranking=self.metadata.type == "Reranking")
        self.labelled = self.labelled and data.labelled
        return RetrievalSplitData(
            corpus=Dataset.from_list(data.corpus),
            queries=Dataset.from_list(data.queries),
            relevant_docs=data.relevant_docs,
            top_ranked=data.top_ranked,
        ), data.revision


class MedtebSTSTask(MedtebTaskMixin, AbsTaskSTS):
    """MedTEB's synonym STS task: binary labels, Pearson of cosine similarity."""

    def _read_split(self, folder: Path, split: str) -> tuple[Dataset, str]:
        data = read_sts(folder, split, self.definition.score_range)
        self.labelled = self.labelled and data.labelled
        return Dataset.from_list(data.rows), data.revision


_BASES: dict[str, type] = {
    "Retrieval": MedtebRetrievalTask,
    "Reranking": MedtebRetrievalTask,
    "STS": MedtebSTSTask,
}


def _build_task_class(definition: TaskDefinition) -> type[AbsTask]:
    base = _BASES.get(str(definition.type))
    if base is None:
        raise TaskDefinitionError(
            f"{definition.folder}/task.yaml: type {definition.type!r} is not supported; "
            f"use one of {sorted(_BASES)}"
        )
    release = definition.source.huggingface
    dataset = (
        {"path": release.path, "revision": release.revision}
        if release
        else {"path": f"medteb-unreleased/{definition.name}", "revision": "unreleased"}
    )
    try:
        metadata = TaskMetadata(dataset=dataset, **definition.metadata)
    except Exception as err:  # pydantic's ValidationError, with mteb's own messages
        raise TaskDefinitionError(f"{definition.folder}/task.yaml: {err}") from err
    class_name = definition.name.replace("-", "")
    attributes: dict[str, Any] = {"metadata": metadata, "definition": definition,
                                  "__module__": __name__, "__qualname__": class_name}
    if base is MedtebSTSTask:
        attributes["min_score"], attributes["max_score"] = definition.score_range
    return type(class_name, (base,), attributes)


def _build_classes() -> dict[str, type[AbsTask]]:
    return {
        name: _build_task_class(definition)
        for name, definition in load_definitions().items()
        if definition.kind == "medteb"
    }


TASK_CLASSES: dict[str, type[AbsTask]] = _build_classes()


def get_task(name: str, data_dir: str | os.PathLike | None = None) -> AbsTask:
    """Instantiate one benchmark task (MedTEB's own or a reused mteb task).

    Args:
        name: a task name, e.g. ``"MedTEB-Retrieval"`` or ``"CMedQAv1-reranking"``.
        data_dir: for MedTEB tasks, a data directory or ``"sample"`` (ignored by mteb tasks).

    Raises:
        UnknownTaskError: the name is neither a MedTEB task nor an mteb task.
    """
    register()
    if name in TASK_CLASSES:
        return TASK_CLASSES[name](data_dir=data_dir)
    from medteb._mteb import task_registry

    if name not in task_registry():
        raise UnknownTaskError(name, [*load_definitions(), *task_registry()])
    return mteb.get_task(name)


def get_tasks(names: Sequence[str] | None = None,
              data_dir: str | os.PathLike | None = None) -> list[AbsTask]:
    """Instantiate tasks by name; ``None`` gives the five tasks of the MedTEB benchmark."""
    return [get_task(n, data_dir=data_dir) for n in (names or list(load_definitions()))]


def build_benchmark(data_dir: str | os.PathLike | None = None) -> Benchmark:
    """The ``MedTEB`` benchmark: five tasks, their mean and the CMedQA / new-task averages."""
    tasks = get_tasks(data_dir=data_dir)
    by_name = {t.metadata.name: t for t in tasks}
    # "Avg" (all five) is mteb's MEAN_TASK aggregation; the two partial averages are groups
    grouping = CustomGrouping(
        name=GROUPING_NAME,
        groups=tuple(
            CustomGroup(label=label, tasks=[by_name[n] for n in names],
                        description=f"Mean of {', '.join(names)}")
            for label, names in AVERAGES.items() if names != BENCHMARK_ORDER),
    )
    return Benchmark(
        name=BENCHMARK_NAME,
        aliases=BENCHMARK_ALIASES,
        display_name="MedTEB (Chinese medical)",
        tasks=tasks,
        description=(
            "MedTEB, the Chinese Medical Text Embedding Benchmark: MedTEB-Retrieval, "
            "MedTEB-Rerank and MedTEB-STS, curated with multi-LLM voting, plus the public "
            "CMedQAv1/v2 reranking tasks. 'Mean (Task)' is the average of all five (the "
            "paper's Table 3 'Avg'). Published as CMedTEB (ACL 2026)."
        ),
        citation=BENCHMARK_CITATION,
        aggregations=(BenchmarkAggregation.MEAN_TASK, grouping),
    )


_registered = False


def register() -> None:
    """Make MedTEB's tasks and benchmark visible to mteb's own lookup functions (idempotent)."""
    global _registered
    if _registered:
        return
    from medteb._mteb import register_benchmark, register_tasks

    register_tasks(TASK_CLASSES)
    _registered = True
    register_benchmark("MEDTEB", build_benchmark())

register()

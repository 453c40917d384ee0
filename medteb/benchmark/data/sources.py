"""Decide where a MedTEB task reads its test data from.

In order: an explicit data directory (``--data-dir`` or ``MEDTEB_DATA_DIR``), the published
Hugging Face release named in the task's ``task.yaml``, and nothing else. The bundled sample is
used only when asked for by name (``--data-dir sample``), or by ``medteb run`` with no model,
which is the offline demo; it is never silently substituted for the benchmark.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from medteb.benchmark.definitions import TaskDefinition
from medteb.errors import (
    DATA_FORMAT_DOC,
    DataUnavailableError,
    DataValidationError,
    UnknownTaskError,
)

DATA_DIR_ENV = "MEDTEB_DATA_DIR"
SAMPLE = "sample"
#: the data label of the bundled sample (:attr:`DataSource.label`)
SAMPLE_LABEL = "bundled SAMPLE (not the benchmark)"


def is_sample_revision(dataset_revision: object) -> bool:
    """Whether a task's dataset revision is the bundled sample's (``sample-<hash>``, as
    :meth:`DataSource.data_revision` makes it); the one test of "this ran on the sample"."""
    return str(dataset_revision).startswith(f"{SAMPLE}-")


def any_sample(dataset_revisions: Iterable[object]) -> bool:
    """Whether any of these dataset revisions is the bundled sample's."""
    return any(is_sample_revision(r) for r in dataset_revisions)


#: ``release-<version>-<hash>[-<hash>...]``: a task read from a release folder (one 16-hex
#: content hash per split, :meth:`DataSource.data_revision`)
_RELEASE_REVISION = re.compile(r"release-(?P<version>.+?)(?:-[0-9a-f]{16})+")


def release_of_revision(dataset_revision: object) -> str | None:
    """The release version of a dataset revision made from a release folder, else None:
    ``release-2026.1-0123456789abcdef`` -> ``2026.1``; the one parser of that format."""
    match = _RELEASE_REVISION.fullmatch(str(dataset_revision))
    return match.group("version") if match else None


def is_sample_label(label: str | None) -> bool:
    """Whether a data label (:attr:`DataSource.label`) is the bundled sample's. An exact
    match: a local folder whose path contains "SAMPLE" is labelled ``local: ...``."""
    return label == SAMPLE_LABEL


@dataclass(frozen=True)
class DataSource:
    """A resolved data source for one task.

    Attributes:
        kind: ``"local"`` (a user's directory), ``"sample"`` (bundled) or ``"huggingface"``.
        location: the task's folder, or the Hugging Face dataset id.
        revision: the pinned dataset revision (Hugging Face only; local revisions are content
            hashes computed when the files are read).
    """

    kind: Literal["local", "sample", "huggingface"]
    location: str
    revision: str | None = None

    @property
    def label(self) -> str:
        """A short description for tables and logs."""
        if self.kind == "sample":
            return SAMPLE_LABEL
        if self.kind == "local":
            return f"local: {self.location}"
        return f"hf: {self.location}@{(self.revision or '')[:10]}"

    def data_revision(self, content_hashes: Iterable[str], release: str | None = None) -> str:
        """The dataset revision of local or sample data: ``<kind>-<hash>-...`` (one hash per
        split), ``release-<version>-<hash>-...`` for a folder of a MedTEB release;
        :func:`is_sample_revision` recognises the sample's."""
        kind = f"release-{release}" if release else self.kind
        return f"{kind}-{'-'.join(content_hashes)}"


def unavailable_message(name: str) -> str:
    """The plain explanation given when a MedTEB task has no data source."""
    return (
        f"{name}: the official MedTEB test data has not been published yet, so there is nothing "
        f"to download. Point --data-dir (or {DATA_DIR_ENV}) at a local copy laid out as in "
        f"{DATA_FORMAT_DOC} (DIR/{name}/...), or pass --data-dir {SAMPLE} to run on the small "
        "bundled sample (a smoke test written by the MedTEB authors, not the benchmark)."
    )


def resolve_source(definition: TaskDefinition, data_dir: str | os.PathLike | None) -> DataSource:
    """Pick the data source of a MedTEB task.

    Args:
        definition: the task's validated ``task.yaml``.
        data_dir: a directory holding ``<TaskName>/`` folders, the word ``"sample"``, or None to
            fall back to ``MEDTEB_DATA_DIR`` and then to the published release.

    Raises:
        DataUnavailableError: the directory lacks the task, or no source exists.
    """
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if chosen is not None and str(chosen) == SAMPLE:
        if definition.sample_dir is None or not definition.sample_dir.is_dir():
            raise DataUnavailableError(f"{definition.name}: this task ships no bundled sample")
        return DataSource("sample", str(definition.sample_dir))
    if chosen is not None:
        root = Path(chosen).expanduser()
        if not root.is_dir():
            raise DataUnavailableError(
                f"data directory {str(root)!r} does not exist (from "
                f"{'--data-dir' if data_dir is not None else DATA_DIR_ENV})"
            )
        task_dir = root / definition.name
        if not task_dir.is_dir():
            raise DataUnavailableError(
                f"{definition.name}: no folder {str(task_dir)!r}; a data directory holds one "
                f"folder per task, laid out as in {DATA_FORMAT_DOC}"
            )
        return DataSource("local", str(task_dir))
    release = definition.source.huggingface
    if release is not None:
        return DataSource("huggingface", release.path, release.revision)
    raise DataUnavailableError(unavailable_message(definition.name))


def check_run_inputs(names: Sequence[str] | None, data_dir: str | os.PathLike | None,
                     eval_splits: Sequence[str] | None = None) -> None:
    """Report task-name and data-folder mistakes before mteb or torch is imported.

    Decides what can be decided from ``tasks/`` alone: a task name that matches a MedTEB task
    only up to case, a data directory that is missing or holds none of the tasks asked for, and
    local data that breaks the format (every problem of every task, once). Names that are not
    MedTEB tasks are left to mteb's registry.

    Raises:
        UnknownTaskError: a name differs from a MedTEB task's only in case.
        DataUnavailableError: the data directory is missing or holds none of the tasks.
        DataValidationError: the local data breaks the documented format.
    """
    from medteb.benchmark.definitions import load_definitions

    definitions = load_definitions()
    lower = {name.lower(): name for name in definitions}
    for name in names or ():
        if name not in definitions and name.lower() in lower:
            raise UnknownTaskError(name, definitions)
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if chosen is None or str(chosen) == SAMPLE:
        return
    own = [definitions[n] for n in (names or definitions)
           if n in definitions and definitions[n].kind == "medteb"]
    root = Path(chosen).expanduser()
    if own and not root.is_dir():
        resolve_source(own[0], data_dir)  # raises: the directory does not exist
    if own and not any((root / d.name).is_dir() for d in own):
        found = sorted(p.name for p in root.iterdir() if p.is_dir())[:5]
        raise DataUnavailableError(
            f"data directory {str(root)!r} holds none of the task folders "
            f"{', '.join(d.name for d in own)} (it holds "
            f"{', '.join(found) + ' and no other folder' if found else 'no folder'}); a data "
            f"directory holds one folder per task (DIR/{own[0].name}/...), laid out as in "
            f"{DATA_FORMAT_DOC}")
    problems: list[DataValidationError] = []
    for definition in own:
        try:
            source = resolve_source(definition, data_dir)
        except DataUnavailableError:
            continue  # reported per task (skipped) by the run, with the other tasks' results
        splits = [s for s in definition.metadata["eval_splits"]
                  if not eval_splits or s in eval_splits]
        for split in splits:
            try:
                _read(definition, Path(source.location), split)
            except DataValidationError as err:
                problems.append(err)
    if problems:
        raise DataValidationError.merged(problems)


def _read(definition: TaskDefinition, folder: Path, split: str) -> None:
    from medteb.benchmark.data.formats import read_retrieval, read_sts

    if definition.type == "STS":
        read_sts(folder, split, definition.score_range)
    else:
        read_retrieval(folder, split, reranking=definition.type == "Reranking")


def chosen_task_folders(data_dir: str | os.PathLike, tasks: Sequence[str] | None,
                        own: Mapping[str, TaskDefinition],
                        error: type[Exception]) -> list[TaskDefinition]:
    """The definitions among ``own`` to read from ``data_dir``: ``tasks`` (each must be one of
    ``own``), else all of them for the sample, else those with a folder in ``data_dir``.

    Raises:
        error: an unknown task name, or a folder that holds none of the tasks.
    """
    if tasks:
        unknown = [t for t in tasks if t not in own]
        if unknown:
            raise error(f"not a MedTEB task: {', '.join(unknown)} (choose from "
                        f"{', '.join(own)})")
        return [own[t] for t in tasks]
    if str(data_dir) == SAMPLE:
        return list(own.values())
    chosen = [d for d in own.values() if (Path(data_dir) / d.name).is_dir()]
    if not chosen:
        raise error(f"{data_dir}: holds none of the MedTEB task folders ({', '.join(own)})")
    return chosen

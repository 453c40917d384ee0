"""The audited test side: the MedTEB tasks of a data directory, read with ``medteb run``'s
own validating readers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from medteb.contamination.index import ContaminationError


def load_test_tasks(data_dir: str | os.PathLike | None,
                    tasks: Sequence[str] | None = None) -> dict[str, object]:
    """``{task: RetrievalData | STSData}`` for the MedTEB tasks in ``data_dir`` (or the sample).

    Args:
        data_dir: a directory of ``<TaskName>/`` folders, ``"sample"``, or None for
            ``MEDTEB_DATA_DIR``.
        tasks: the tasks to audit; None: every MedTEB task with a folder in ``data_dir``.

    Raises:
        ContaminationError: no data directory, an unknown task, no task folder found.
        DataValidationError: a task's files break the data format.
    """
    from medteb.benchmark.data.formats import read_retrieval, read_sts
    from medteb.benchmark.data.sources import DATA_DIR_ENV, chosen_task_folders, resolve_source
    from medteb.benchmark.definitions import load_definitions

    chosen_dir = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if chosen_dir is None:
        raise ContaminationError(f"no test data: pass --data-dir DIR (or set {DATA_DIR_ENV}), "
                                 "a directory of MedTEB task folders, or --data-dir sample")
    own = {n: d for n, d in load_definitions().items()
           if d.kind == "medteb" and d.type in ("Retrieval", "Reranking", "STS")}
    chosen = chosen_task_folders(chosen_dir, tasks, own, ContaminationError)
    loaded: dict[str, object] = {}
    for definition in chosen:
        folder = Path(resolve_source(definition, chosen_dir).location)
        if definition.type == "STS":
            loaded[definition.name] = read_sts(folder, "test", definition.score_range)
        else:
            loaded[definition.name] = read_retrieval(folder, "test",
                                                     reranking=definition.type == "Reranking")
    return loaded

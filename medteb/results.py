"""Where results live: mteb's result files in the layout ``<folder>/<org__model>/<revision>/``.

mteb's ``ResultCache(path)`` writes under ``path/results/``; MedTEB's results folder *is* that
level (``./results`` by default, the same layout as this repository's ``results/``), so
``ResultCache(parent_of_results_folder)`` and ``mteb.load_results`` read it unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mteb.cache import ResultCache


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

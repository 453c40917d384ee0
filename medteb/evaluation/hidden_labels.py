"""``medteb run`` on a hidden-label release: predictions are written, nothing is scored.

A release may publish queries and corpus (rerank candidates, STS pairs) without their labels
(docs/data_format.md, "Hidden labels"); a task loaded from such data has ``labelled = False``.
mteb's evaluators always score, and drop every query without a relevant document first, so the
mteb call here gets placeholder labels for the length of the call only: a relevance of 0 for
one id that is no document (no query is dropped, nothing is relevant) and alternating STS
scores. The score mteb computes from them is thrown away and no result file is written
(``cache=None``); what is kept is mteb's own predictions file, with ``model_meta.json`` beside
it (as mteb writes beside a result), which the maintainer scores on the real labels with
``medteb score`` and files with ``medteb submit --predictions P --labels DIR``
(:mod:`medteb.results.scoring`, :mod:`medteb.results.hidden`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medteb.errors import MedtebError

if TYPE_CHECKING:
    from mteb.abstasks import AbsTask

logger = logging.getLogger(__name__)

#: the placeholder judgement's document id; never a corpus id (MedTEB ids are JSON strings)
PLACEHOLDER_ID = "\0medteb-no-label"

NOT_SCORED = ("no labels in this data (a hidden-label release): predictions written to {path}, "
              "nothing scored; the maintainer scores them with `medteb score`")


def unlabelled(tasks: Sequence[AbsTask]) -> list[str]:
    """The names of the tasks whose loaded data has no labels."""
    return [t.metadata.name for t in tasks if getattr(t, "labelled", True) is False]


def require_prediction_folder(tasks: Sequence[AbsTask], prediction_folder: Any) -> None:
    """Refuse, before any model loads, to run label-free tasks without ``--prediction-folder``.

    Raises:
        MedtebError: some task has no labels and there is nowhere to write its predictions.
    """
    names = unlabelled(tasks)
    if names and prediction_folder is None:
        raise MedtebError(
            f"{', '.join(names)}: the data has no labels (a hidden-label release), so there is "
            "nothing to score and only predictions can come out of the run; pass "
            "--prediction-folder DIR to write them (docs/data_format.md)")


def predict_only(model: Any, task: AbsTask, folder: Path, encode_kwargs: dict[str, Any],
                 show_progress: bool) -> dict[str, Any]:
    """Write ``task``'s predictions into ``folder`` through ``mteb.evaluate``; score nothing.

    Returns:
        The runner's ``TaskOutcome`` fields: ``skipped`` (where the predictions are) and
        ``predictions_only``, or ``failed`` with the reason when no predictions came out.
    """
    import mteb

    path = folder / task.prediction_file_name
    path.unlink(missing_ok=True)  # an older file must not pass for this run's
    try:
        with _placeholder_labels(task), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nothing computed from placeholders is shown
            mteb.evaluate(model, task, cache=None, overwrite_strategy="always",
                          encode_kwargs=dict(encode_kwargs), show_progress_bar=show_progress,
                          prediction_folder=folder)
    except Exception as err:  # one task's failure must not lose the others' predictions
        logger.exception("%s failed", task.metadata.name)
        return {"failed": f"{type(err).__name__}: {err}"}
    if not path.is_file():
        return {"failed": f"mteb wrote no predictions to {path}"}
    _write_model_meta(model, folder)
    return {"skipped": NOT_SCORED.format(path=path), "predictions_only": True}


def _write_model_meta(model: Any, folder: Path) -> None:
    """``model_meta.json`` beside the predictions, as mteb's result cache writes it beside a
    result: who made them, for ``medteb submit --predictions P --labels DIR``."""
    import json

    from medteb._fileio import write_atomic

    meta = model.mteb_model_meta
    write_atomic(folder / "model_meta.json",
                 json.dumps(meta.to_dict(), default=str, indent=4))


class _placeholder_labels:
    """Placeholder labels in ``task.dataset`` for one mteb call; the data as it was after."""

    def __init__(self, task: AbsTask) -> None:
        self.task = task
        self.saved: dict[tuple[str, str], Any] = {}

    def __enter__(self) -> None:
        for subset, splits in self.task.dataset.items():
            for split, data in splits.items():
                self.saved[subset, split] = data
                splits[split] = _with_placeholders(self.task, data)

    def __exit__(self, *exc: object) -> None:
        for (subset, split), data in self.saved.items():
            self.task.dataset[subset][split] = data


def _with_placeholders(task: AbsTask, data: Any) -> Any:
    if task.metadata.type == "STS":
        return data.add_column("score", [float(i % 2) for i in range(len(data))])
    placeholder = dict(data)
    placeholder["relevant_docs"] = {q: {PLACEHOLDER_ID: 0} for q in data["queries"]["id"]}
    return placeholder

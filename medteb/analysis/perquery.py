"""Per-query scores of one run on one task, and their compact file ``<Task>.per_query.jsonl``.

The values come from :func:`medteb.results.verify.per_query_values`, the same pytrec_eval /
scipy scoring that verifies a submission's main score, so the mean of the per-query values is
the main score (ranking tasks) and the correlation of the per-pair values is the main score (STS).

File format (JSON, written atomically, read through a pydantic model)::

    {"format": "medteb-per-query/1", "task": "MedTEB-Retrieval", "metric": "ndcg_at_10",
     "data_revision": "...", "model": "org/name", "model_revision": "...",
     "ids": ["q001", ...], "values": [0.63093, ...]}          # ranking: per-query metric
    {..., "metric": "cosine_pearson", "ids": null,
     "values": [0.81, ...], "gold": [1.0, ...]}               # STS: similarity and gold per pair

The file is one line of JSON (hence ``.jsonl``): mteb's result loaders read every ``*.json`` of
a results folder as a task result, and pass ``.jsonl`` files over (as ``run_settings.jsonl``),
so a ``results/`` entry can hold its per-query files. Values are stored with 7 significant
digits: 1,128 queries take ~25 kB, 5,000 pairs ~110 kB.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from medteb.errors import AnalysisError

FORMAT = "medteb-per-query/1"
SUFFIX = ".per_query.jsonl"


@dataclass(frozen=True)
class PerQuery:
    """One run's per-query scores on one task.

    Attributes:
        ids: query ids (ranking tasks), or pair positions ``"0", "1", ...`` (STS).
        values: per-query metric values (ranking) or predicted similarities (STS).
        gold: STS gold scores normalised to [0, 1]; None for ranking tasks.
    """

    task: str
    metric: str
    data_revision: str
    model: str
    model_revision: str
    ids: tuple[str, ...]
    values: np.ndarray
    gold: np.ndarray | None = None

    @property
    def kind(self) -> str:
        """``"pearson"`` (STS) or ``"mean"`` (ranking): how :attr:`score` is formed."""
        return "mean" if self.gold is None else "pearson"

    @property
    def score(self) -> float:
        """The main score on mteb's 0–1 scale, unrounded."""
        if self.gold is None:
            return math.fsum(self.values) / len(self.values)
        from medteb.results.verify import sts_score

        return sts_score(self.metric, list(self.gold), list(self.values))

    def to_json(self) -> str:
        """The compact file's text."""
        body: dict[str, Any] = {
            "format": FORMAT, "task": self.task, "metric": self.metric,
            "data_revision": self.data_revision, "model": self.model,
            "model_revision": self.model_revision,
            "ids": None if self.gold is not None else list(self.ids),
            "values": [float(f"{v:.7g}") for v in self.values],
        }
        if self.gold is not None:
            body["gold"] = [float(f"{v:.7g}") for v in self.gold]
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"


def from_predictions(task: Any, saved: dict[str, Any], split: str = "test",
                     subset: str = "default") -> PerQuery:
    """Per-query scores from a loaded task and its parsed ``<Task>_predictions.json``.

    Raises:
        AnalysisError: the predictions do not fit the task, or a value is not finite.
    """
    from medteb.results.verify import per_query_values

    owner = saved.get("mteb_model_meta") or {}
    name = task.metadata.name
    try:
        values = per_query_values(task, saved, split, subset)
    except (KeyError, ValueError) as err:
        raise AnalysisError(f"{name}: cannot score the predictions: {err}") from err
    common = {"task": name, "metric": task.metadata.main_score,
              "data_revision": str(task.metadata.revision),
              "model": str(owner.get("model_name", "")),
              "model_revision": str(owner.get("revision", ""))}
    if isinstance(values, dict):
        _check_queries(task, saved[subset][split], split, subset)
        ids = tuple(sorted(values))
        return _checked(PerQuery(**common, ids=ids, values=np.array([values[q] for q in ids])))
    if task.metadata.main_score != "cosine_pearson":
        raise AnalysisError(f"{name}: per-pair statistics need a Pearson main score, not "
                            f"{task.metadata.main_score!r}")
    gold, similarities = values
    return _checked(PerQuery(**common, ids=tuple(str(i) for i in range(len(gold))),
                             values=np.array(similarities), gold=np.array(gold)))


def _check_queries(task: Any, predicted: dict[str, Any], split: str, subset: str) -> None:
    """Predictions of other data, or of an incomplete run, never score a smaller sample."""
    data = task.dataset[subset][split]
    name = task.metadata.name
    known = {row["id"] for row in data["queries"]}
    unknown = sorted(set(predicted) - known)
    if unknown:
        raise AnalysisError(f"{name}: predictions for {len(unknown)} queries that the data does "
                            f"not have ({', '.join(unknown[:3])}): predictions of other data? "
                            "give the run's --data-dir")
    missing = sorted(q for q, docs in data["relevant_docs"].items() if docs and q not in predicted)
    if missing:
        raise AnalysisError(f"{name}: {len(missing)} judged queries have no predictions "
                            f"({', '.join(missing[:3])}): an incomplete run, or other data")


def _checked(per_query: PerQuery) -> PerQuery:
    from medteb.analysis.stats import require_finite

    require_finite(per_query.values, f"per-query values of {per_query.task}")
    if per_query.gold is not None:
        require_finite(per_query.gold, f"gold scores of {per_query.task}")
    return per_query


class _PerQueryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    format: Literal["medteb-per-query/1"]
    task: str
    metric: str
    data_revision: str
    model: str
    model_revision: str
    ids: list[str] | None
    values: list[float]
    gold: list[float] | None = None


def write_per_query(path: str | Path, per_query: PerQuery) -> None:
    """Write the compact per-query file atomically."""
    from medteb._fileio import write_atomic

    write_atomic(path, per_query.to_json())


def read_per_query(path: str | Path) -> PerQuery:
    """Read a per-query file.

    Raises:
        AnalysisError: unreadable, not the format, non-finite or missing values.
    """
    try:
        raw = _PerQueryFile.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValidationError) as err:
        first = err.errors()[0] if isinstance(err, ValidationError) else None
        why = (f"{'.'.join(map(str, first['loc']))}: {first['msg']}" if first else str(err))
        raise AnalysisError(f"{path}: not a readable per-query file ({why})") from err
    if (raw.gold is None) == (raw.ids is None):
        raise AnalysisError(f"{path}: give 'ids' (ranking task) or 'gold' (STS), not both or "
                            "neither")
    n = len(raw.values)
    ids = tuple(raw.ids) if raw.ids is not None else tuple(str(i) for i in range(n))
    if len(ids) != n or (raw.gold is not None and len(raw.gold) != n):
        raise AnalysisError(f"{path}: {n} values for {len(raw.ids or raw.gold or [])} "
                            f"{'queries' if raw.gold is None else 'gold scores'}")
    return PerQuery(task=raw.task, metric=raw.metric, data_revision=raw.data_revision,
                    model=raw.model, model_revision=raw.model_revision, ids=ids,
                    values=np.array(raw.values),
                    gold=None if raw.gold is None else np.array(raw.gold))

"""Training-data overlap of an entry's scores: from an attached contamination audit, else from
the declared ``training_datasets`` (docs/contamination.md, "On the board").

``medteb submit --contamination-report FILE`` stores the audit (``medteb contamination --format
json``) in the entry as ``contamination.yaml`` (YAML, so that mteb's loaders, which read every
``*.json`` of a folder as a result, never see it). The board then marks each score:

* ``audit``: the audit found test queries, documents or pairs of the task in the model's
  training data (exact or near);
* ``declared``: the model's declared training data names the task;
* ``unknown``: the training data is not declared and no audit covers the task.

A task the audit covers and found clean is not marked (unless its training data is declared).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from medteb.errors import ResultsError

AUDIT_FILE = "contamination.yaml"
Overlap = Literal["audit", "declared", "unknown"]

#: each mark's marker on the board and its footnote
MARKERS: dict[str, tuple[str, str]] = {
    "audit": ("◆", "found in the model's training data by a contamination audit "
                   "(`medteb contamination`, attached with `medteb submit "
                   "--contamination-report`): exact or near copies of the task's test "
                   "queries, documents or (query, positive) pairs"),
    "declared": ("◇", "the model's declared training data (`training_datasets`) includes "
                      "this task"),
    "unknown": ("?", "the model's training data is not declared and no audit covers this "
                     "task: overlap unknown"),
}


class _Matches(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    exact: list = []
    near: list = []


class _TaskAudit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    queries: _Matches = _Matches()
    documents: _Matches = _Matches()
    pairs: _Matches = _Matches()

    def found(self) -> int:
        return sum(len(m.exact) + len(m.near) for m in (self.queries, self.documents,
                                                         self.pairs))


class Audit(BaseModel):
    """The JSON of ``medteb contamination --format json`` (docs/contamination.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tasks: dict[str, _TaskAudit]

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.model_dump(), sort_keys=True, allow_unicode=True, width=100)


def read_audit(path: str | Path) -> Audit:
    """A contamination report (its JSON, or the YAML stored in an entry), validated.

    Raises:
        ResultsError: unreadable, not JSON/YAML, not the report's shape, or a task that is not
            one of the benchmark's.
    """
    import yaml

    from medteb.benchmark.definitions import BENCHMARK_ORDER

    path = Path(path)
    try:
        audit = Audit.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ResultsError(f"{path}: not a readable contamination report ({err})".split(
            "\n")[0]) from err
    except ValidationError as err:
        where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}"
                          for e in err.errors()[:3])
        raise ResultsError(f"{path}: not a contamination report ({where}); expected the JSON "
                           "of `medteb contamination --format json`") from err
    unknown = sorted(set(audit.tasks) - set(BENCHMARK_ORDER))
    if unknown:
        raise ResultsError(f"{path}: unknown task(s) {', '.join(unknown)}; the report covers "
                           f"tasks of the benchmark ({', '.join(BENCHMARK_ORDER)})")
    return audit


def entry_audit(folder: Path) -> Audit | None:
    """The audit stored in an entry's folder, if any (:func:`read_audit`'s errors)."""
    path = folder / AUDIT_FILE
    return read_audit(path) if path.is_file() else None


def score_overlap(tasks: Iterable[str], training: list[str] | None,
                  audit: Audit | None) -> dict[str, Overlap]:
    """Each scored task's mark (tasks without overlap are left out).

    Args:
        tasks: the tasks with a score.
        training: the declared training data (mteb task names); None when not declared.
        audit: the attached contamination audit, if any.
    """
    audited: Mapping[str, _TaskAudit] = audit.tasks if audit else {}
    marks: dict[str, Overlap] = {}
    for task in tasks:
        if task in audited and audited[task].found():
            marks[task] = "audit"
        elif training is not None and task in training:
            marks[task] = "declared"
        elif training is None and task not in audited:
            marks[task] = "unknown"
    return marks

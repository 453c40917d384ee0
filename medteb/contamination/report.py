"""The audit's report: per task, the test queries, documents and pairs found in training data."""

from __future__ import annotations

import json
from dataclasses import dataclass

from medteb.contamination.index import KINDS, MatchSettings

MATCHES = ("exact", "near")


@dataclass(frozen=True)
class Example:
    """One finding shown in the table report."""

    task: str
    kind: str
    match: str
    id: str
    test_text: str
    training_text: str
    location: str


@dataclass(frozen=True)
class ContaminationReport:
    """What the audit found.

    Attributes:
        found: task -> kind (``queries``/``documents``/``pairs``) -> match (``exact``/``near``)
            -> ids in test-file order; a pair's id is ``[query id, document id]``.
        sizes: task -> kind -> how many test items of that kind were audited.
        examples: the first finding of each (task, kind, match), for the table report.
        training_files: the training files read; ``records`` how many records they held.
        settings: the thresholds used.
    """

    found: dict[str, dict[str, dict[str, list]]]
    sizes: dict[str, dict[str, int]]
    examples: tuple[Example, ...]
    training_files: tuple[str, ...]
    records: int
    settings: MatchSettings

    @property
    def contaminated(self) -> bool:
        """True when any test item or pair was found in the training data."""
        return any(ids for kinds in self.found.values() for matches in kinds.values()
                   for ids in matches.values())

    def to_dict(self) -> dict:
        """The documented JSON: ``{"tasks": {task: {kind: {"exact": [...], "near": [...]}}}}``."""
        return {"tasks": {task: {kind: {match: list(self.found[task][kind][match])
                                        for match in MATCHES} for kind in KINDS}
                          for task in sorted(self.found)}}

    def to_json(self) -> str:
        """:meth:`to_dict` as stable, indented JSON."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    def to_markdown(self) -> str:
        """A table per task (found / audited, exact and near) and an example of each finding."""
        s = self.settings
        lines = ["# Contamination audit", "",
                 f"{self.records:,} training records in {len(self.training_files)} file(s). "
                 f"Near: at most {s.max_edits} edits and {s.max_edit_fraction:g} of the test "
                 f"text's length, texts of {s.min_near_chars}+ characters; {s.ngram}-gram "
                 "candidates.", "",
                 "| Task | Kind | Audited | Exact | Near |", "|---|---|---:|---:|---:|"]
        for task in sorted(self.found):
            for kind in KINDS:
                exact, near = (len(self.found[task][kind][m]) for m in MATCHES)
                lines.append(f"| {task} | {kind} | {self.sizes[task][kind]:,} | {exact:,} | "
                             f"{near:,} |")
        lines += ["", "## Examples", ""]
        if not self.examples:
            lines.append("None: no test text was found in the training data.")
        for ex in self.examples:
            lines.append(f"- {ex.task} {ex.kind} {ex.match} `{ex.id}` at {ex.location}: "
                         f"test {_quote(ex.test_text)}, training {_quote(ex.training_text)}")
        return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return "“" + (text if len(text) <= 80 else text[:80] + "…") + "”"

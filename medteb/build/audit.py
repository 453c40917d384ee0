"""Stage 7: audit an existing retrieval benchmark with LLM judges (paper Appendix E, Table 13).

For each query of a local retrieval task, the top-``k`` documents of a retriever plus the
originally labelled positives are re-judged by the LLM judges (Table 21, unanimity voting).
Taking the LLM labels as pseudo ground truth, per query on average: the originally labelled
positives, the LLM-labelled positives, false positives (labelled positive, unanimously judged
irrelevant) and false negatives (unlabelled or labelled 0, unanimously judged relevant). Pairs
the judges disagree on count as neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medteb.build.judge import JudgeReport, VotingRule, judge_pool
from medteb.build.llm import JudgeConfig, ResponseStore


@dataclass(frozen=True)
class AuditReport:
    """Table 13's four averages, with examples of false positives and false negatives."""

    queries: int
    averages: dict[str, float]
    false_positives: list[dict[str, str]]
    false_negatives: list[dict[str, str]]
    judging: JudgeReport

    def to_dict(self) -> dict[str, Any]:
        return {"queries": self.queries, "per_query_average": self.averages,
                "false_positive_examples": self.false_positives,
                "false_negative_examples": self.false_negatives,
                "judging": self.judging.to_dict()}

    def to_markdown(self, examples: int = 5) -> str:
        a = self.averages
        lines = [f"Audit of {self.queries} queries (per query, on average):", "",
                 "| Orig. Pos. | LLM-Labeled Pos. | False Positive | False Negative |",
                 "|---:|---:|---:|---:|",
                 f"| {a['original_positives']:.2f} | {a['llm_positives']:.2f} | "
                 f"{a['false_positives']:.2f} | {a['false_negatives']:.2f} |", ""]
        for title, items in (("False positives (labelled relevant, judged irrelevant)",
                              self.false_positives),
                             ("False negatives (not labelled, judged relevant)",
                              self.false_negatives)):
            lines.append(f"{title}:")
            lines += [f"- {e['query_id']} / {e['doc_id']}: {_short(e['query'])} -> "
                      f"{_short(e['document'])}" for e in items[:examples]] or ["- none"]
            lines.append("")
        return "\n".join(lines) + self.judging.to_markdown()


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def audit_task(queries: Mapping[str, Mapping[str, Any]], corpus: Mapping[str, Mapping[str, Any]],
               qrels: Mapping[str, Mapping[str, int]], rankings: Mapping[str, Sequence[str]],
               judges: Sequence[JudgeConfig], store: ResponseStore, *,
               rule: VotingRule | None = None, passages_per_request: int = 10,
               show_progress: bool = False, retry_failures: bool = False,
               client_factory: Callable[[JudgeConfig], Any] | None = None,
               max_consecutive_failures: int = 5) -> AuditReport:
    """Re-judge each query's retrieved documents and original positives; compare with qrels.

    Args:
        queries, corpus: id -> ``{"text"}`` of the task (only queries with qrels are audited).
        qrels: query id -> {doc id: score}; score > 0 is an original positive.
        rankings: query id -> the retriever's top documents, best first.
    """
    audited = [q for q in queries if q in qrels]
    pool = []
    for qid in audited:
        docs = list(dict.fromkeys([*rankings.get(qid, []),
                                   *sorted(d for d, s in qrels[qid].items() if s > 0)]))
        pool.append({"query_id": qid, "candidates": [{"doc_id": d} for d in docs]})
    report = judge_pool(pool, queries, corpus, judges, store, rule=rule,
                        passages_per_request=passages_per_request, show_progress=show_progress,
                        retry_failures=retry_failures, client_factory=client_factory,
                        max_consecutive_failures=max_consecutive_failures)
    labels: dict[str, dict[str, int | None]] = {}
    for r in report.rows:
        labels.setdefault(r["query_id"], {})[r["doc_id"]] = r["label"]
    totals = dict.fromkeys(("original_positives", "llm_positives", "false_positives",
                            "false_negatives"), 0)
    fps, fns = [], []
    for qid in audited:
        original = {d for d, s in qrels[qid].items() if s > 0}
        label = labels.get(qid, {})
        llm = {d for d, v in label.items() if v == 1}
        fp = sorted(d for d in original if label.get(d) == 0)
        fn = sorted(llm - original)
        totals["original_positives"] += len(original)
        totals["llm_positives"] += len(llm)
        totals["false_positives"] += len(fp)
        totals["false_negatives"] += len(fn)
        for target, ids in ((fps, fp), (fns, fn)):
            target += [{"query_id": qid, "doc_id": d, "query": queries[qid]["text"],
                        "document": corpus[d]["text"]} for d in ids]
    n = max(len(audited), 1)
    averages = {k: round(v / n, 4) for k, v in totals.items()}
    return AuditReport(queries=len(audited), averages=averages, false_positives=fps,
                       false_negatives=fns, judging=report)

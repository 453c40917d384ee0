"""Multi-LLM relevance judgments (paper Appendix B, prompt Table 21), voting and agreement.

Every judge rates each (query, passage) pair of a candidate pool on the five-level scale
S/A/B/C/D, several passages per request, answering with a JSON object
``{"Passage-0": "A", ...}``. A pair becomes a positive only when *every* judge rates it in the
relevant set (default S, A), a negative only when every judge rates it in the irrelevant set
(default B, C, D), and is discarded otherwise. Agreement is Fleiss' kappa over the five grades
and over the binary relevant / not-relevant split, on the pairs every judge rated.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from medteb.build.io import extract_json_object
from medteb.build.llm import (
    CallStats,
    JudgeConfig,
    LLMRequest,
    ResponseStore,
    call_problems,
    request_key,
    run_calls,
)
from medteb.errors import BuildInputError

GRADES = ("S", "A", "B", "C", "D")
PROMPT_VERSION = "relevance-table21-v1"

RELEVANCE_PROMPT = """\
This is a medical information retrieval task: given a medical query (Query), retrieve documents \
(Passages) that can answer the question.

Given a medical query (Query) and {n} passages, your task is to rate the relevance between the \
Query and each Passage.

Relevance scoring criteria:
S: The subject (e.g., disease name, drug name, inquiry target) and intent of Query and Passage \
are fully consistent. The Passage can directly, completely, and correctly answer the Query.
A: The subject and intent of Query and Passage are consistent. The Passage contains content that \
can directly and correctly answer the Query.
B: The subject of Query and Passage is consistent, but the intent differs. The Passage cannot \
directly answer the Query, but it is useful for inference.
C: The subject of Query and Passage is related, but the intent is inconsistent. It can only \
partially match the Query from the text, but cannot answer the Query.
D: The subject and intent of Query and Passage are unrelated. Cannot answer the Query.

Notes:
1. Query and Passage are independent; there is no contextual relationship. Do not infer or \
supplement the subject/intent of Query based on Passage.
2. If the Query is low-quality (e.g., missing subject, like "How to treat this disease?"), the \
maximum relevance score for all Passages should not exceed B.
3. All Passages are independent; they are randomly ordered and have no contextual relationship.

Output format:
Your output must be a JSON object, containing only the required fields. The format is as follows:
{example}

Query and Passages are as follows:
- Query: {query}
{passages}

Remember: do not output any other content or explanation.
Your output must be only a JSON object with the required fields. Output:"""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def relevance_messages(query: str, passages: Sequence[str]) -> list[dict[str, str]]:
    """The Table 21 prompt for one query and its passages, as chat messages."""
    example = '{"Passage-0": "A", "Passage-1": "C", ...}'
    lines = "\n".join(f"- Passage-{i}: {_one_line(p)}" for i, p in enumerate(passages))
    content = RELEVANCE_PROMPT.format(n=len(passages), example=example,
                                      query=_one_line(query), passages=lines)
    return [{"role": "user", "content": content}]


def relevance_parser(n: int) -> Callable[[str], list[str]]:
    """A parser that accepts exactly the grades of ``n`` passages, or raises ValueError."""

    def parse(text: str) -> list[str]:
        obj = extract_json_object(text)
        grades = []
        for i in range(n):
            value = obj.get(f"Passage-{i}")
            grade = value.strip().upper() if isinstance(value, str) else None
            if grade not in GRADES:
                raise ValueError(f"Passage-{i}: expected one of S/A/B/C/D, got {value!r}")
            grades.append(grade)
        return grades

    return parse


@dataclass(frozen=True)
class VotingRule:
    """Unanimity voting: all judges relevant -> 1, all irrelevant -> 0, otherwise discarded."""

    relevant: frozenset[str] = frozenset({"S", "A"})
    irrelevant: frozenset[str] = frozenset({"B", "C", "D"})

    def __post_init__(self) -> None:
        bad = sorted((self.relevant | self.irrelevant) - set(GRADES))
        if bad or not self.relevant or self.relevant & self.irrelevant:
            raise BuildInputError(
                f"voting rule: relevant {sorted(self.relevant)} and irrelevant "
                f"{sorted(self.irrelevant)} must be non-empty-relevant, disjoint subsets of "
                f"{'/'.join(GRADES)}" + (f" (unknown: {bad})" if bad else ""))

    def label(self, grades: Sequence[str]) -> int | None:
        """1, 0 or None (discarded) for the grades all judges gave one pair."""
        if grades and all(g in self.relevant for g in grades):
            return 1
        if grades and all(g in self.irrelevant for g in grades):
            return 0
        return None


def fleiss_kappa(ratings: Sequence[Sequence[str]], categories: Sequence[str]) -> float:
    """Fleiss' kappa of items each rated by the same number (>= 2) of raters.

    >>> round(fleiss_kappa([["S", "S"], ["D", "D"], ["S", "D"]], ["S", "D"]), 4)
    0.3333
    """
    if not ratings:
        return math.nan
    n = len(ratings[0])
    if n < 2 or any(len(r) != n for r in ratings):
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of ratings per item")
    index = {c: j for j, c in enumerate(categories)}
    totals = [0] * len(categories)
    agreement = 0.0
    for item in ratings:
        counts = Counter(index[r] for r in item)
        for j, c in counts.items():
            totals[j] += c
        agreement += (sum(c * c for c in counts.values()) - n) / (n * (n - 1))
    p_bar = agreement / len(ratings)
    p_e = sum((t / (len(ratings) * n)) ** 2 for t in totals)
    if p_e == 1.0:
        return 1.0 if p_bar == 1.0 else math.nan
    return (p_bar - p_e) / (1 - p_e)


@dataclass(frozen=True)
class JudgeReport:
    """Judged pairs, their vote and the agreement between judges."""

    rows: list[dict[str, Any]]
    judges: list[str]
    prompt_version: str
    rule: VotingRule
    stats: CallStats
    failures: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r["status"] for r in self.rows).items()))

    def agreement(self) -> dict[str, Any]:
        """Fleiss' kappa (five grades and binary) and the share of fully rated pairs discarded."""
        rated = [[r["grades"][j] for j in self.judges] for r in self.rows
                 if r["status"] in ("positive", "negative", "discarded")]
        binary = [["rel" if g in self.rule.relevant else "not" for g in item] for item in rated]
        discarded = sum(r["status"] == "discarded" for r in self.rows)
        kappa5 = fleiss_kappa(rated, GRADES) if len(self.judges) > 1 else math.nan
        kappa2 = fleiss_kappa(binary, ("rel", "not")) if len(self.judges) > 1 else math.nan
        return {"pairs_rated_by_all": len(rated),
                "fleiss_kappa_grades": None if math.isnan(kappa5) else round(kappa5, 4),
                "fleiss_kappa_binary": None if math.isnan(kappa2) else round(kappa2, 4),
                "discarded_share": round(discarded / len(rated), 4) if rated else None}

    def to_dict(self) -> dict[str, Any]:
        return {"judges": self.judges, "prompt_version": self.prompt_version,
                "relevant": sorted(self.rule.relevant), "irrelevant": sorted(self.rule.irrelevant),
                "counts": self.counts(), "agreement": self.agreement(),
                "calls": {"total": self.stats.total, "from_store": self.stats.cached,
                          "made": self.stats.called, "failed": self.stats.failed,
                          "pending": self.stats.pending, "tokens": self.stats.tokens,
                          "seconds": round(self.stats.seconds, 2)},
                "last_errors": dict(sorted(self.stats.last_errors.items())),
                "stopped": dict(sorted(self.stats.stopped.items())),
                "failures": self.failures}

    def to_markdown(self) -> str:
        a, c = self.agreement(), self.counts()
        lines = [f"Judges: {', '.join(self.judges)} (prompt {self.prompt_version})",
                 f"Pairs: {len(self.rows)} — " + ", ".join(f"{k} {v}" for k, v in c.items()),
                 f"Fleiss' kappa: grades {a['fleiss_kappa_grades']}, binary "
                 f"{a['fleiss_kappa_binary']}; discarded share {a['discarded_share']}",
                 f"Calls: {self.stats.total} ({self.stats.cached} from the store, "
                 f"{self.stats.called} made, {self.stats.failed} failed, {self.stats.pending} "
                 f"pending), {self.stats.tokens:,} tokens"]
        for f in self.failures[:20]:
            lines.append(f"  failure: judge {f['judge']}, query {f['query_id']}: {f['error']}")
        lines += call_problems(self.stats)
        return "\n".join(lines) + "\n"


def judge_pool(
    pool: Sequence[Mapping[str, Any]],
    queries: Mapping[str, Mapping[str, Any]],
    corpus: Mapping[str, Mapping[str, Any]],
    judges: Sequence[JudgeConfig],
    store: ResponseStore,
    *,
    rule: VotingRule | None = None,
    passages_per_request: int = 10,
    retry_failures: bool = False,
    show_progress: bool = False,
    client_factory: Callable[[JudgeConfig], Any] | None = None,
    max_consecutive_failures: int = 5,
) -> JudgeReport:
    """Have every judge rate every (query, candidate) pair of a pool, then vote.

    Args:
        pool: ``{"query_id", "candidates": [{"doc_id", ...}]}`` rows (``medteb build pool``).
        queries: query id -> ``{"text"}``; corpus: doc id -> ``{"text"}``.
        judges: the LLM judges; each pair is rated once by each.
        store: the response store (cache and durable log).
        rule: the voting rule (default: S/A relevant, B/C/D irrelevant).
        passages_per_request: passages rated in one call (Table 21 rates several at once).
        max_consecutive_failures: stop a judge after this many failed requests in a row.

    Raises:
        BuildInputError: the pool names unknown queries or documents, or no judge is given.
    """
    rule = rule or VotingRule()
    if not judges:
        raise BuildInputError("no judges given: pass a judges file (docs/building_data.md)")
    if passages_per_request < 1:
        raise BuildInputError("passages_per_request must be at least 1")
    batches: list[tuple[str, list[str], dict[str, Any]]] = []
    problems = []
    for row in pool:
        qid = row["query_id"]
        doc_ids = [c["doc_id"] for c in row["candidates"]]
        problems += [f"query {qid!r} not in the queries file"] * (qid not in queries)
        problems += [f"document {d!r} (query {qid!r}) not in the corpus file"
                     for d in doc_ids if d not in corpus]
        if qid not in queries or any(d not in corpus for d in doc_ids):
            continue
        for start in range(0, len(doc_ids), passages_per_request):
            chunk = doc_ids[start:start + passages_per_request]
            payload = {"query": queries[qid]["text"],
                       "passages": [corpus[d]["text"] for d in chunk]}
            batches.append((qid, chunk, payload))
    if problems:
        raise BuildInputError("pool: " + "; ".join(problems[:10]) +
                              (f"; ... {len(problems) - 10} more" if len(problems) > 10 else ""))
    parsers = {n: relevance_parser(n) for n in {len(chunk) for _, chunk, _ in batches}}
    requests = [LLMRequest(payload, relevance_messages(payload["query"], payload["passages"]),
                           parse=parsers[len(chunk)]) for _, chunk, payload in batches]
    stats = run_calls([(j, requests) for j in judges], PROMPT_VERSION,
                      parsers.get(passages_per_request, relevance_parser(passages_per_request)),
                      store, retry_failures=retry_failures, show_progress=show_progress,
                      description="judging", client_factory=client_factory,
                      max_consecutive_failures=max_consecutive_failures)
    return _vote(batches, judges, store, rule, stats)


def _vote(batches: list[tuple[str, list[str], dict[str, Any]]], judges: Sequence[JudgeConfig],
          store: ResponseStore, rule: VotingRule, stats: CallStats) -> JudgeReport:
    names = [j.name for j in judges]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    failures = []
    for qid, chunk, payload in batches:
        for judge in judges:
            record = store.get(request_key(judge, PROMPT_VERSION, payload))
            if record is not None and not record.get("ok"):
                failures.append({"judge": judge.name, "query_id": qid, "doc_ids": chunk,
                                 "error": record.get("error", "")})
            for i, doc_id in enumerate(chunk):
                row = rows.setdefault((qid, doc_id), {"query_id": qid, "doc_id": doc_id,
                                                      "grades": {}, "problems": {}})
                if record is None:
                    row["problems"][judge.name] = "pending"
                elif not record.get("ok"):
                    row["problems"][judge.name] = "failed"
                else:
                    row["grades"][judge.name] = record["output"][i]
    out = []
    for row in rows.values():
        problems = row.pop("problems")
        if "failed" in problems.values():
            row["label"], row["status"] = None, "failed"
        elif problems:
            row["label"], row["status"] = None, "pending"
        else:
            label = rule.label([row["grades"][n] for n in names])
            row["label"] = label
            row["status"] = {1: "positive", 0: "negative", None: "discarded"}[label]
        out.append(row)
    return JudgeReport(rows=out, judges=names, prompt_version=PROMPT_VERSION, rule=rule,
                       stats=stats, failures=failures)

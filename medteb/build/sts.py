"""Stage 6: synonym STS (paper §3.1, prompt Table 22) and the CHIP-CDN dictionary importer.

For each query that contains a dictionary term (the longest matching ``origin``), a generator LLM
writes a positive (synonym substituted, same intent), a hard negative (synonym substituted,
different intent) and an easy negative (original term, different intent). Outputs are checked
before they are accepted: all three present and distinct from the query; the positive and the
hard negative contain the ``replace`` term, the easy negative the ``origin`` term; the positive's
length is within ±30% of the query's. An output that fails is asked again and, if it keeps
failing, stored as a failure and reported. One of the three is sampled per query (seeded by the
query id), labelled 1 for the positive and 0 otherwise, and written in the STS format.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
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
    request_key,
    run_calls,
)
from medteb.errors import BuildInputError

PROMPT_VERSION = "synonym-sts-table22-v1"
KINDS = ("positive", "negative-1", "negative-2")

STS_PROMPT = """\
Medical Query Rewriting Sample Generation (Positive and Negative Examples)

Task Objective: Your task is to generate one positive example and two negative examples based on \
a given original medical query and a set of synonyms.
You will receive a JSON object containing the following fields:
"origin": "Original medical term",
"replace": "Synonym medical term for replacement",
"query pairs": { "origin": "Query sentence using the original term", "replace": "Query sentence \
using the replaced term" }

Generation Rules:
1. General Quality Standards (applicable to all outputs):
- Professional Expression: Use professional, fluent, and natural medical language.
- Medical Accuracy: Content must conform to medical knowledge and avoid ambiguity.
- Format Requirement: All outputs must be complete, fluent interrogative sentences.

2. Specific Sample Requirements:
- positive (Positive Example):
- Task: Optimize and rewrite the second query in query pairs (the one containing the "replace" \
term).
- Intent: Must preserve the exact same intent as the original query.
- Terminology: Must use the term specified in the "replace" field.
- Constraint: Rewritten query length must be within ±30% of the original query's length.
- negative-1 (Negative Example 1):
- Task: Create a new query based on the topic of the original query, similar but distinctly \
different.
- Terminology: Must use the term specified in the "replace" field.
- Intent: Significantly alter the intent of the original query.
- negative-2 (Negative Example 2):
- Task: Create a new query based on the topic of the original query, similar but distinctly \
different.
- Terminology: Must use the term specified in the "origin" field.
- Intent: Significantly alter the intent of the original query (same rule as negative-1).

Output Format: Must be a JSON object containing only the following three fields: "positive", \
"negative-1", "negative-2". Do not add any extra explanations or comments.

Input: {input}
Output:"""

_SEPARATORS = re.compile(r"[\s,，;；、。.:：\"'“”()（）\[\]【】/\\+]")


def import_chip_cdn(records: Sequence[Mapping[str, Any]], *, max_chars: int = 12,
                    max_length_ratio: float = 2.0,
                    both_directions: bool = True) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Synonym pairs from CHIP-CDN records ``{"text": raw term, "normalized_result": "a##b"}``.

    A record gives a pair only when it maps to exactly one standard term, differs from it, both
    are single clean terms (2..``max_chars`` characters, no digits or separators: raw diagnoses
    listing several conditions are not synonyms), and the longer is at most
    ``max_length_ratio`` times the shorter (``癫痫`` -> ``部分性发作继发全面性发作`` is a
    specialisation, not a synonym). ``origin`` is the raw term and ``replace`` the standard
    term, and with ``both_directions`` also the reverse. Pairs are ordered by how many records
    support them (most first), so the usual reading of an ambiguous term wins in
    :func:`match_queries`. The source is noisy: review the pairs before a serious build.

    Returns:
        The pairs ``{"origin", "replace", "source", "support"}`` and counts of records skipped
        per reason.
    """
    support: Counter[tuple[str, str]] = Counter()
    skipped: Counter[str] = Counter()
    for record in records:
        raw, norm = record.get("text"), record.get("normalized_result")
        if not isinstance(raw, str) or not isinstance(norm, str):
            skipped["malformed"] += 1
            continue
        raw = raw.strip().strip("\ufeff")
        terms = [t.strip().strip("\ufeff") for t in norm.split("##") if t.strip()]
        if len(terms) != 1:
            skipped["several_standard_terms"] += 1
            continue
        standard = terms[0]
        if raw == standard:
            skipped["identical"] += 1
            continue
        if any(not 2 <= len(t) <= max_chars or _SEPARATORS.search(t) or
               any(ch.isdigit() for ch in t) for t in (raw, standard)):
            skipped["not_a_single_term"] += 1
            continue
        if max(len(raw), len(standard)) > max_length_ratio * min(len(raw), len(standard)):
            skipped["length_ratio"] += 1
            continue
        support[(raw, standard)] += 1
        if both_directions:
            support[(standard, raw)] += 1
    ordered = sorted(support.items(), key=lambda kv: -kv[1])  # stable: file order among ties
    pairs = [{"origin": o, "replace": r, "source": "CHIP-CDN", "support": n}
             for (o, r), n in ordered]
    return pairs, dict(sorted(skipped.items()))


def match_queries(queries: Mapping[str, Mapping[str, Any]],
                  synonyms: Sequence[Mapping[str, str]]) -> list[tuple[str, dict[str, str]]]:
    """Each query with the dictionary pair of the longest ``origin`` it contains (first wins)."""
    for i, pair in enumerate(synonyms):
        if not isinstance(pair.get("origin"), str) or not isinstance(pair.get("replace"), str):
            raise BuildInputError(f"synonyms row {i + 1}: needs string \"origin\" and \"replace\"")
    ordered = sorted(enumerate(synonyms), key=lambda ip: (-len(ip[1]["origin"]), ip[0]))
    matches = []
    for qid, row in queries.items():
        for _, pair in ordered:
            if pair["origin"] and pair["origin"] in row["text"]:
                matches.append((qid, {"origin": pair["origin"], "replace": pair["replace"]}))
                break
    return matches


def sts_payload(query: str, pair: Mapping[str, str]) -> dict[str, Any]:
    """The Table 22 input object for one query and synonym pair."""
    return {"origin": pair["origin"], "replace": pair["replace"],
            "query pairs": {"origin": query,
                            "replace": query.replace(pair["origin"], pair["replace"])}}


def sts_parser(payload: Mapping[str, Any]) -> Callable[[str], dict[str, str]]:
    """A parser that accepts only outputs meeting the module docstring's checks."""
    query = payload["query pairs"]["origin"]
    origin, replace = payload["origin"], payload["replace"]

    def parse(text: str) -> dict[str, str]:
        obj = extract_json_object(text)
        out = {}
        for kind in KINDS:
            value = obj.get(kind)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f'missing or empty "{kind}"')
            out[kind] = value.strip()
        if replace not in out["positive"] or replace not in out["negative-1"]:
            raise ValueError(f"the replacement term {replace!r} is missing from the positive "
                             "or negative-1")
        if origin not in out["negative-2"]:
            raise ValueError(f"the original term {origin!r} is missing from negative-2")
        if not 0.7 * len(query) <= len(out["positive"]) <= 1.3 * len(query):
            raise ValueError(f"positive length {len(out['positive'])} is outside ±30% of the "
                             f"query's {len(query)}")
        if len({query, *out.values()}) != 4:
            raise ValueError("the three outputs must differ from each other and from the query")
        return out

    return parse


def sts_messages(payload: Mapping[str, Any]) -> list[dict[str, str]]:
    content = STS_PROMPT.replace("{input}", json.dumps(payload, ensure_ascii=False))
    return [{"role": "user", "content": content}]


@dataclass(frozen=True)
class STSReport:
    """The sampled STS rows, every generation (for audit), failures and counts."""

    rows: list[dict[str, Any]]
    generated: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    stats: CallStats
    matched: int
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"prompt_version": PROMPT_VERSION, "queries_matched": self.matched,
                "pairs": len(self.rows), "sampled": self.counts,
                "failures": self.failures, "pending": self.stats.pending,
                "tokens": self.stats.tokens}

    def to_markdown(self) -> str:
        lines = [f"STS: {self.matched} queries contain a dictionary term; {len(self.rows)} "
                 f"pairs written (sampled: " + ", ".join(f"{k} {v}" for k, v in
                                                         self.counts.items()) + ")",
                 f"generation failures: {len(self.failures)}; pending: {self.stats.pending}; "
                 f"{self.stats.tokens:,} tokens"]
        lines += [f"  failure: query {f['query_id']}: {f['error']}" for f in self.failures[:20]]
        return "\n".join(lines) + "\n"


def build_sts(queries: Mapping[str, Mapping[str, Any]], synonyms: Sequence[Mapping[str, str]],
              generator: JudgeConfig, store: ResponseStore, *, seed: int = 0,
              retry_failures: bool = False, show_progress: bool = False,
              client_factory: Callable[[JudgeConfig], Any] | None = None,
              max_consecutive_failures: int = 5) -> STSReport:
    """Generate, validate and sample synonym-STS pairs (see the module docstring).

    Raises:
        BuildInputError: no query contains a dictionary term.
    """
    matches = match_queries(queries, synonyms)
    if not matches:
        raise BuildInputError("no query contains an \"origin\" term of the synonym dictionary")
    payloads = [(qid, sts_payload(queries[qid]["text"], pair)) for qid, pair in matches]
    requests = [LLMRequest(p, sts_messages(p), parse=sts_parser(p)) for _, p in payloads]
    stats = run_calls([(generator, requests)], PROMPT_VERSION, lambda t: t, store,
                      retry_failures=retry_failures, show_progress=show_progress,
                      description="generating STS", client_factory=client_factory,
                      max_consecutive_failures=max_consecutive_failures)
    rows, generated, failures = [], [], []
    counts: Counter[str] = Counter()
    for qid, payload in payloads:
        record = store.get(request_key(generator, PROMPT_VERSION, payload))
        if record is None:
            continue
        if not record.get("ok"):
            failures.append({"query_id": qid, "error": record.get("error", "")})
            continue
        seed_int = int(hashlib.sha256(f"{seed}\0{qid}".encode()).hexdigest()[:16], 16)
        kind = random.Random(seed_int).choice(KINDS)
        counts[kind] += 1
        query = payload["query pairs"]["origin"]
        rows.append({"sentence1": query, "sentence2": record["output"][kind],
                     "score": 1 if kind == "positive" else 0})
        generated.append({"query_id": qid, "origin": payload["origin"],
                          "replace": payload["replace"], "query": query, "sampled": kind,
                          **record["output"]})
    return STSReport(rows=rows, generated=generated, failures=failures, stats=stats,
                     matched=len(matches), counts=dict(sorted(counts.items())))

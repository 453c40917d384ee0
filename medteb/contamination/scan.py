"""Match training records against the test index; one shard at a time, results merged.

A training text matches a test text **exactly** when both normalise alike, and **near** when
the test text (at least ``min_near_chars`` long) is within its allowed edits of the whole
training text, or of a part of it (a copy inside a longer line). Candidates come from the
n-gram index (see :mod:`.index`); ``rapidfuzz`` verifies them. For each test item the report
keeps the best evidence: exact over near, then the earliest record, so any sharding of the
training side (one process or Ray workers) merges to the same result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from medteb.contamination.index import AuditIndex, ngrams
from medteb.contamination.normalise import normalise
from medteb.contamination.training import Shard, records

SNIPPET_CHARS = 80


@dataclass(frozen=True)
class Evidence:
    """Where a test item was found: exact or near, shard number, record number, the text."""

    exact: bool
    shard: int
    record: int
    snippet: str

    def better_than(self, other: Evidence | None) -> bool:
        if other is None:
            return True
        return (not self.exact, self.shard, self.record) < (not other.exact, other.shard,
                                                             other.record)


@dataclass
class ScanResult:
    """Findings of some shards: item -> evidence, (query, doc) items -> evidence, counts."""

    items: dict[int, Evidence] = field(default_factory=dict)
    pairs: dict[tuple[int, int], Evidence] = field(default_factory=dict)
    records: int = 0
    lines: dict[int, int] = field(default_factory=dict)  # shard -> records/lines read

    def add(self, table: dict, key: object, evidence: Evidence) -> None:
        if evidence.better_than(table.get(key)):
            table[key] = evidence

    def merge(self, other: ScanResult) -> None:
        """Fold another result in (order does not matter)."""
        for key, evidence in other.items.items():
            self.add(self.items, key, evidence)
        for key, evidence in other.pairs.items():
            self.add(self.pairs, key, evidence)
        self.records += other.records
        self.lines.update(other.lines)


def _snippet(text: str, start: int = 0) -> str:
    if len(text) <= SNIPPET_CHARS:
        return text
    begin = max(0, min(start - 10, len(text) - SNIPPET_CHARS))
    return ("…" if begin else "") + text[begin:begin + SNIPPET_CHARS] + "…"


def near_match(test: str, train: str, edits: int) -> int | None:
    """Where ``test`` occurs in ``train`` with at most ``edits`` edits (a start offset), or None.

    The whole of ``train`` is compared first (when it is at most ``edits`` characters longer);
    then ``test`` is looked for inside it: verbatim, then in the window ``rapidfuzz``'s partial
    alignment picks, widened or narrowed by up to ``edits`` characters at each end.
    """
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Levenshtein

    if len(train) <= len(test) + edits and Levenshtein.distance(
            test, train, score_cutoff=edits) <= edits:
        return 0
    found = train.find(test)
    if found >= 0:
        return found
    if edits == 0:
        return None
    aligned = fuzz.partial_ratio_alignment(test, train)
    if aligned is None:
        return None
    for left in range(-edits, edits + 1):
        start = max(0, aligned.dest_start + left)
        for right in range(-edits, edits + 1):
            window = train[start:max(start, aligned.dest_end + right)]
            if Levenshtein.distance(test, window, score_cutoff=edits) <= edits:
                return start
    return None


def match_text(index: AuditIndex, text: str) -> dict[int, tuple[bool, int]]:
    """Test items found in one training text: item -> (exact, where in the normalised text)."""
    norm = normalise(text)
    if not norm:
        return {}
    found = {item: (True, 0) for item in index.exact.get(norm, ())}
    n = index.settings.ngram
    grams = ngrams(norm, n)
    candidates: set[int] = set()
    for gram in grams:
        posting = index.postings.get(gram)
        if posting:
            candidates.update(posting)
    for item in candidates:
        if item in found:
            continue
        item_grams, edits = index.item_grams(item), index.edits[item]
        if len(item_grams & grams) < len(item_grams) - edits * n:
            continue
        where = near_match(index.norms[item], norm, edits)
        if where is not None:
            found[item] = (False, where)
    return found


def scan_records(index: AuditIndex, shard_number: int,
                 stream: Iterable[tuple[int, list[str]]]) -> ScanResult:
    """Scan the records of one shard (``(record number, texts)``, as :func:`records` yields)."""
    result = ScanResult()
    last = 0
    for number, texts in stream:
        last = number
        if not texts:
            continue
        result.records += 1
        in_record: dict[int, bool] = {}
        for text in texts:
            for item, (exact, where) in match_text(index, text).items():
                evidence = Evidence(exact, shard_number, number, _snippet(text, where))
                result.add(result.items, item, evidence)
                in_record[item] = in_record.get(item, False) or exact
        for query, query_exact in in_record.items():
            for document in index.positives.get(query, ()):
                if document in in_record:
                    exact = query_exact and in_record[document]
                    evidence = Evidence(exact, shard_number, number, "")
                    result.add(result.pairs, (query, document), evidence)
    result.lines[shard_number] = last
    return result


def scan_shard(index: AuditIndex, shard_number: int, shard: Shard,
               encoding: str = "utf-8") -> ScanResult:
    """Read and scan one shard."""
    return scan_records(index, shard_number, records(shard, encoding))

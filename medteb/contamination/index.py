"""The test side of the audit, indexed once: exact lookup and an n-gram index for near matches.

Near-match candidates come from the q-gram lemma: a text ``t`` with ``G`` distinct character
n-grams that occurs (exactly, or inside a longer text) with at most ``k`` edits still shares at
least ``G - k*n`` of its n-grams with the training text, since one edit destroys at most ``n``
of them. So ``t`` must share at least one of any ``k*n + 1`` of its n-grams; the index lists
each test text under its ``k*n + 1`` rarest n-grams only (prefix filtering), a candidate must
then share ``G - k*n`` n-grams, and ``rapidfuzz`` edit distance verifies it (:mod:`.scan`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from medteb.contamination.normalise import normalise
from medteb.errors import MedtebError

KINDS = ("queries", "documents", "pairs")


class ContaminationError(MedtebError, ValueError):
    """Bad input to the contamination audit (settings, test data or training files)."""


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds of the audit (docs/contamination.md; each is a ``medteb contamination`` flag).

    Attributes:
        ngram: character n-gram length of the candidate index.
        max_edits: most character edits (Levenshtein) of a near match.
        max_edit_fraction: and at most this fraction of the test text's length (rounded down):
            with 0.1, a 10-19 character query may differ by one character, 20+ by two.
        min_near_chars: test texts shorter than this (after normalisation) match exactly only;
            a 4-character query inside a longer line is no evidence of a copy.
    """

    ngram: int = 3
    max_edits: int = 2
    max_edit_fraction: float = 0.1
    min_near_chars: int = 8

    def __post_init__(self) -> None:
        if self.ngram < 1:
            raise ContaminationError(f"--ngram must be at least 1, got {self.ngram}")
        if self.max_edits < 0:
            raise ContaminationError(f"--max-edits must be >= 0, got {self.max_edits}")
        if not 0.0 <= self.max_edit_fraction <= 1.0:
            raise ContaminationError(
                f"--max-edit-fraction must be in [0, 1], got {self.max_edit_fraction}")
        if self.min_near_chars < self.ngram:
            raise ContaminationError(f"--min-near-chars ({self.min_near_chars}) must be at "
                                     f"least --ngram ({self.ngram})")

    def edits_for(self, length: int) -> int:
        """The edits a near match of a test text of ``length`` characters may have."""
        return min(self.max_edits, int(length * self.max_edit_fraction))


@dataclass(frozen=True)
class AuditedText:
    """One test text: ``kind`` is ``"queries"`` or ``"documents"``."""

    task: str
    kind: str
    id: str
    text: str


@dataclass
class AuditIndex:
    """Every test text of the audited tasks, indexed (sent once to each Ray worker).

    Attributes:
        items: the test texts; an item's position is its index everywhere below.
        norms: each item's normalised text.
        exact: normalised text -> items with that text.
        postings: n-gram -> items listed under it (their rarest ``k*n + 1`` n-grams); an
            item under none is matched exactly only.
        edits: each item's allowed edits.
        positives: query item -> its positive document items (the pairs audited).

    An item's n-grams are recomputed when it first becomes a candidate and cached; the cache
    is not pickled, which halves what is sent to each Ray worker.
    """

    settings: MatchSettings
    items: list[AuditedText]
    norms: list[str]
    exact: dict[str, list[int]]
    postings: dict[str, list[int]]
    edits: list[int]
    positives: dict[int, list[int]] = field(default_factory=dict)
    _grams: dict[int, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

    def item_grams(self, item: int) -> frozenset[str]:
        """The distinct n-grams of test item ``item`` (cached)."""
        grams = self._grams.get(item)
        if grams is None:
            grams = self._grams[item] = frozenset(ngrams(self.norms[item], self.settings.ngram))
        return grams

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_grams": {}}


def ngrams(text: str, n: int) -> set[str]:
    """The distinct character n-grams of ``text`` (none when it is shorter than ``n``)."""
    return {text[i:i + n] for i in range(len(text) - n + 1)}


def build_index(items: Sequence[AuditedText], pairs: Iterable[tuple[int, int]],
                settings: MatchSettings) -> AuditIndex:
    """Index ``items``; ``pairs`` are (query item, positive document item) positions.

    Items whose text normalises to nothing are left out of matching (nothing to find).
    """
    norms = [normalise(item.text) for item in items]
    exact: dict[str, list[int]] = {}
    grams: list[frozenset[str]] = []
    edits: list[int] = []
    for position, norm in enumerate(norms):
        if norm:
            exact.setdefault(norm, []).append(position)
        near = len(norm) >= settings.min_near_chars
        grams.append(frozenset(ngrams(norm, settings.ngram)) if near else frozenset())
        edits.append(settings.edits_for(len(norm)) if near else 0)
    frequency = Counter(g for item_grams in grams for g in item_grams)
    postings: dict[str, list[int]] = {}
    for position, item_grams in enumerate(grams):
        if not item_grams:
            continue
        prefix = sorted(item_grams, key=lambda g: (frequency[g], g))
        for gram in prefix[:edits[position] * settings.ngram + 1]:
            postings.setdefault(gram, []).append(position)
    positives: dict[int, list[int]] = {}
    for query, document in pairs:
        positives.setdefault(query, []).append(document)
    return AuditIndex(settings, list(items), norms, exact, postings, edits, positives)


def index_from_tasks(tasks: Mapping[str, object], settings: MatchSettings) -> AuditIndex:
    """Index loaded task data: ``{task name: RetrievalData | STSData}``.

    Retrieval/Reranking tasks contribute their queries, corpus and (query, document) pairs with
    a score > 0; an STS task its ``sentence1`` texts as queries and ``sentence2`` as documents,
    ids the 1-based row number, and every row as a pair (its label is what would leak).
    """
    items: list[AuditedText] = []
    pairs: list[tuple[int, int]] = []
    for task in sorted(tasks):
        data = tasks[task]
        if hasattr(data, "rows"):  # STSData
            for number, row in enumerate(data.rows, start=1):
                pairs.append((len(items), len(items) + 1))
                items.append(AuditedText(task, "queries", str(number), row["sentence1"]))
                items.append(AuditedText(task, "documents", str(number), row["sentence2"]))
            continue
        where: dict[tuple[str, str], int] = {}
        for query in data.queries:
            where["queries", query["id"]] = len(items)
            items.append(AuditedText(task, "queries", query["id"], query["text"]))
        for doc in data.corpus:
            where["documents", doc["id"]] = len(items)
            items.append(AuditedText(task, "documents", doc["id"], doc["text"]))
        for qid, judged in sorted(data.relevant_docs.items()):
            for did, score in sorted(judged.items()):
                if score > 0 and ("queries", qid) in where:
                    pairs.append((where["queries", qid], where["documents", did]))
    return build_index(items, pairs, settings)

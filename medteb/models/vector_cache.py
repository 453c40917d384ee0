"""One caching wrapper around any encoder: exact text → vector, kept by a pluggable backend.

As mteb's ``CachedEmbeddingWrapper`` puts a cache around any encoder, :class:`VectorCache`
puts one around any function that encodes texts. It looks every text up in its backend, sends
only the misses (each distinct text once) to the encoder, and writes what comes back to the
backend. Two users, one wrapper:

- the document store (:meth:`medteb.models.document_store.DocumentStore.get_or_encode`): the
  backend is one encoder's vectors of one task's data (:class:`~medteb.models.document_store.
  StoreEntry`), the encoder a local model cut into shards (:func:`in_chunks`);
- a served model (:class:`medteb.models.served.side.ApiSide`): the backend is the model's
  vectors of every text it was sent (:class:`medteb.models.served.cache.ServedVectors`), the
  encoder the HTTP client, which hands over each answered batch as it arrives.

**Durability.** An encoder hands each finished batch to ``keep`` as soon as it has it
(:class:`BatchEncoder`). Kept batches are written to the backend every ``flush_every`` vectors
and, whatever stops the encoder (a failed request, Ctrl-C), once more before the error goes on:
an answered batch is never lost. The document store's ``flush_every`` is its shard size and its
encoder is cut into shards of that size, so each shard is one file, as a rerun cuts it again.

Vectors are checked for NaN and infinity where they enter the backend (its ``add``).

Example:
    >>> cache = VectorCache(backend, flush_every=1024)             # doctest: +SKIP
    >>> vectors = cache.encode(texts, in_chunks(model_encode, 1024))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

from medteb.errors import MedtebError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path


class VectorCacheError(MedtebError, RuntimeError):
    """The cache cannot answer: misses and no encoder, or an encoder that skipped texts."""


class VectorBackend(Protocol):
    """Where a :class:`VectorCache` keeps vectors, looked up by the exact text."""

    @property
    def location(self) -> Path:
        """The folder the vectors are kept in (for messages and run notes)."""
        ...

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray | None, list[int]]:
        """Stored vectors of ``texts`` (rows of misses are zero; None if nothing is stored)
        and the indices of the misses."""
        ...

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Keep ``vectors`` of ``texts`` (durably; raises for non-finite vectors)."""
        ...


class BatchEncoder(Protocol):
    """Encodes ``texts``, calling ``keep(batch_texts, batch_vectors)`` for each finished batch
    as soon as it is done (every text exactly once, in any order of batches)."""

    def __call__(self, texts: list[str],
                 keep: Callable[[list[str], np.ndarray], None], /) -> None: ...


def chunks(texts: list[str], size: int) -> Iterator[list[str]]:
    """``texts`` cut into lists of ``size`` (the last may be shorter)."""
    for start in range(0, len(texts), size):
        yield texts[start: start + size]


def in_chunks(encode: Callable[[list[str]], np.ndarray], size: int) -> BatchEncoder:
    """A :class:`BatchEncoder` over a plain texts → vectors function, ``size`` texts a call
    (cut by :func:`chunks`)."""

    def run(texts: list[str], keep: Callable[[list[str], np.ndarray], None]) -> None:
        for chunk in chunks(texts, size):
            keep(chunk, np.asarray(encode(chunk), dtype=np.float32))

    return run


@dataclass
class CacheStats:
    """What a cache did: of the ``asked`` texts, ``reused`` were answered from the backend and
    the rest by the encoder, which was sent ``encoded`` distinct texts (a repeated text once)."""

    reused: int = 0
    encoded: int = 0
    asked: int = 0


class Lookup(NamedTuple):
    """A look-up's answer: stored vectors (None if none) and the indices of the misses."""

    stored: np.ndarray | None
    missing: list[int]


@dataclass
class VectorCache:
    """A cache around any encoder (see the module docstring).

    Attributes:
        backend: where the vectors are kept.
        flush_every: kept vectors are written once this many are waiting (and at the end).
        stats: counts, shared with the owner's run notes.
    """

    backend: VectorBackend
    flush_every: int
    stats: CacheStats = field(default_factory=CacheStats)

    def lookup(self, texts: Sequence[str]) -> Lookup:
        """What the backend holds for ``texts`` (counts nothing)."""
        return Lookup(*self.backend.lookup(texts))

    def encode(self, texts: Sequence[str], encoder: BatchEncoder | None,
               found: Lookup | None = None) -> np.ndarray:
        """Vectors of ``texts``: stored ones re-used, the distinct misses encoded and kept.

        Args:
            encoder: encodes the misses; None when every text must be stored already.
            found: :meth:`lookup` of the same ``texts``, if the caller has it already.

        Raises:
            VectorCacheError: texts are missing and there is no encoder, or the encoder did not
                hand back every text it was given.
        """
        stored, missing = found if found is not None else self.lookup(texts)
        self.stats.asked += len(texts)
        self.stats.reused += len(texts) - len(missing)
        if not missing:
            return stored if stored is not None else np.zeros((0, 0), dtype=np.float32)
        if encoder is None:
            raise VectorCacheError(f"{len(missing)} of {len(texts)} texts have no vector in "
                                   f"{self.backend.location} and there is no encoder to make "
                                   "them")
        unique = list(dict.fromkeys(texts[i] for i in missing))  # repeated texts: encode once
        new = self._encode_and_keep(unique, encoder)
        if len(new) < len(unique):
            raise VectorCacheError(f"the encoder handed back vectors of {len(new)} of the "
                                   f"{len(unique)} texts it was given; every text must come back")
        dim = len(next(iter(new.values())))
        out = stored if stored is not None else np.zeros((len(texts), dim), dtype=np.float32)
        for i in missing:
            out[i] = new[texts[i]]
        return out

    def _encode_and_keep(self, texts: list[str], encoder: BatchEncoder) -> dict[str, np.ndarray]:
        new: dict[str, np.ndarray] = {}
        waiting: list[tuple[list[str], np.ndarray]] = []
        count = [0]  # texts waiting

        def flush() -> None:
            if waiting:
                batches = list(waiting)
                waiting.clear()  # a refused write (non-finite vectors) is not tried twice
                count[0] = 0
                self.backend.add([t for batch, _ in batches for t in batch],
                                 np.concatenate([v for _, v in batches]))

        def keep(batch: list[str], vectors: np.ndarray) -> None:
            vectors = np.asarray(vectors, dtype=np.float32)
            waiting.append((batch, vectors))
            count[0] += len(batch)
            new.update(zip(batch, vectors, strict=True))
            self.stats.encoded += len(batch)
            if count[0] >= self.flush_every:
                flush()

        try:
            encoder(texts, keep)
        finally:  # whatever stops the encoder, every batch it finished is kept
            flush()
        return new

"""An on-disk store of document embeddings, so the expensive document side runs once.

Layout (all files written atomically: a temp file in the same folder, fsync, then rename)::

    <root>/<encoder key>/encoder.json                 who made the vectors (name, revision, ...)
    <root>/<encoder key>/<entry key>/entry.json       for which data (task, split, revision, ...)
    <root>/<encoder key>/<entry key>/shard-*.safetensors

- The **encoder key** hashes everything about the document encoder that changes a vector: model
  name and revision, pooling, maximum length and dtype.
- The **entry key** hashes the data: task, split, subset and dataset revision.
- Inside an entry, each vector is found by the SHA-256 of the exact text that was encoded
  (instruction included), so a changed text or instruction is a miss, never a stale hit.

:meth:`DocumentStore.get_or_encode` is the caching wrapper of :mod:`medteb.models.vector_cache`
around the document encoder, with one entry as its backend (:class:`StoreEntry`); served models
keep their vectors in the same folder through the same wrapper (:mod:`medteb.models.served.cache`).

Vectors are stored raw (before Matryoshka truncation and normalisation, which are cheap and
applied on read), so one encoding serves every ``--truncate-dim``. Shards are
``safetensors`` files (no pickle); a shard is written every ``shard_size`` new vectors, so an
interrupted run keeps every finished shard and a torn write leaves only a temp file, which is
ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from medteb._fileio import atomic_write, write_atomic
from medteb._vectors import require_finite
from medteb.errors import MedtebError
from medteb.models.vector_cache import CacheStats, VectorCache, chunks, in_chunks

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

DEFAULT_SHARD_SIZE = 1024
#: what to do about a stored shard that holds NaN or infinity
_REENCODE = "Delete that shard file (or its entry folder) and run again to re-encode its texts"


class DocumentStoreError(MedtebError, ValueError):
    """The store cannot answer: vectors missing in store-only mode, or an ambiguous encoder."""


def default_store_root() -> Path:
    """``$MEDTEB_DOCUMENT_STORE``, else ``$XDG_CACHE_HOME/medteb/documents`` (~/.cache/...)."""
    if os.environ.get("MEDTEB_DOCUMENT_STORE"):
        return Path(os.environ["MEDTEB_DOCUMENT_STORE"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "medteb" / "documents"


def content_key(fields: dict[str, Any]) -> str:
    """A short (16 hex) SHA-256 of ``fields`` as canonical JSON: equal fields, equal key."""
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def text_digests(texts: Sequence[str]) -> np.ndarray:
    """SHA-256 of each text, as an ``(n, 32)`` uint8 array."""
    out = np.empty((len(texts), 32), dtype=np.uint8)
    for i, text in enumerate(texts):
        out[i] = np.frombuffer(hashlib.sha256(text.encode("utf-8")).digest(), dtype=np.uint8)
    return out


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


class StoreIdentity(Protocol):
    """Who made a set of stored vectors: the encoder key of its folder and its
    ``encoder.json``. :class:`EncoderIdentity` (a model with weights) and
    :class:`~medteb.models.served.cache.ServedIdentity` (a served model) are the two."""

    @property
    def name(self) -> str: ...

    @property
    def key(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class EncoderIdentity:
    """What about a document encoder changes its vectors (the encoder key) plus its facts."""

    name: str
    revision: str
    pooling: str
    max_length: int
    dtype: str
    dim: int
    n_parameters: int

    @property
    def key(self) -> str:
        return content_key({"name": self.name, "revision": self.revision, "pooling": self.pooling,
                     "max_length": self.max_length, "dtype": self.dtype})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "revision": self.revision, "pooling": self.pooling,
                "max_length": self.max_length, "dtype": self.dtype, "dim": self.dim,
                "n_parameters": self.n_parameters}


@dataclass(frozen=True)
class EntryKey:
    """Which data a set of vectors belongs to."""

    task: str
    split: str
    subset: str
    dataset_revision: str

    @property
    def key(self) -> str:
        return content_key({"task": self.task, "split": self.split, "subset": self.subset,
                     "dataset_revision": self.dataset_revision})


@dataclass
class DocumentStore:
    """Document vectors on disk, looked up by encoder, data and exact text.

    Example:
        >>> store = DocumentStore(tmp_path)                                  # doctest: +SKIP
        >>> vectors = store.get_or_encode(identity, entry, texts, encode_fn)  # doctest: +SKIP
    """

    root: Path
    shard_size: int = DEFAULT_SHARD_SIZE
    #: documents encoded and re-used by :meth:`get_or_encode` (for the run report)
    stats: CacheStats = field(default_factory=CacheStats)
    _loaded: dict[Path, dict[bytes, np.ndarray]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root).expanduser()

    def _entry_dir(self, identity: StoreIdentity, entry: EntryKey) -> Path:
        return self.root / identity.key / entry.key

    def _vectors(self, folder: Path) -> dict[bytes, np.ndarray]:
        if folder not in self._loaded:
            from safetensors.numpy import load_file

            found: dict[bytes, np.ndarray] = {}
            for shard in sorted(folder.glob("shard-*.safetensors")):
                data = load_file(shard)
                require_finite(data["vectors"], f"document store shard {shard}", _REENCODE)
                for digest, vector in zip(data["digests"], data["vectors"], strict=True):
                    found[digest.tobytes()] = vector
            self._loaded[folder] = found
        return self._loaded[folder]

    def lookup(self, identity: StoreIdentity, entry: EntryKey,
               texts: Sequence[str]) -> tuple[np.ndarray | None, list[int]]:
        """Stored vectors for ``texts`` (rows of misses are zero) and the indices of the misses."""
        digests = text_digests(texts)
        found = self._vectors(self._entry_dir(identity, entry))
        missing = [i for i, d in enumerate(digests) if d.tobytes() not in found]
        if not found or len(missing) == len(texts):
            return None, missing
        dim = len(next(iter(found.values())))
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, digest in enumerate(digests):
            vector = found.get(digest.tobytes())
            if vector is not None:
                out[i] = vector
        return out, missing

    def missing_texts(self, identity: StoreIdentity, entry: EntryKey,
                      texts: Sequence[str]) -> list[str]:
        """The distinct ``texts`` with no stored vector, in first-seen order.

        Reads only the digests of the shards (not their vectors), so a driver that hands the
        encoding to other processes does not hold the store in memory.

        Raises:
            DocumentStoreError: no texts at all (as :meth:`get_or_encode`).
        """
        _require_texts(entry, texts)
        folder = self._entry_dir(identity, entry)
        stored: set[bytes] = set(self._loaded.get(folder, {}))
        if folder not in self._loaded:
            from safetensors import safe_open

            for shard in sorted(folder.glob("shard-*.safetensors")):
                with safe_open(str(shard), framework="numpy") as handle:
                    stored.update(d.tobytes() for d in handle.get_tensor("digests"))
        unique = list(dict.fromkeys(texts))
        return [t for t, d in zip(unique, text_digests(unique), strict=True)
                if d.tobytes() not in stored]

    def add(self, identity: StoreIdentity, entry: EntryKey, texts: Sequence[str],
            vectors: np.ndarray, keep_in_memory: bool = True) -> None:
        """Store vectors of ``texts`` as one new shard (atomically).

        The shard's name is a hash of its texts, so writing the same texts twice (two drivers
        racing on one store) replaces a file with an identical one instead of clashing.
        """
        from safetensors.numpy import save_file

        folder = self._entry_dir(identity, entry)
        if not (folder.parent / "encoder.json").is_file():
            _write_json(folder.parent / "encoder.json", identity.to_dict())
        if not (folder / "entry.json").is_file():
            _write_json(folder / "entry.json", {
                "task": entry.task, "split": entry.split, "subset": entry.subset,
                "dataset_revision": entry.dataset_revision})
        digests = text_digests(texts)
        vectors = require_finite(np.ascontiguousarray(vectors, dtype=np.float32), identity.name)
        name = hashlib.sha256(digests.tobytes()).hexdigest()[:16]
        atomic_write(folder / f"shard-{name}.safetensors",
                     lambda tmp: save_file({"digests": digests, "vectors": vectors}, tmp,
                                           metadata={"encoder": identity.key,
                                                     "entry": entry.key}))
        if not keep_in_memory and folder not in self._loaded:
            return
        cache = self._loaded.setdefault(folder, {})
        for digest, vector in zip(digests, vectors, strict=True):
            cache[digest.tobytes()] = vector

    def get_or_encode(self, identity: EncoderIdentity, entry: EntryKey, texts: Sequence[str],
                      encode: Callable[[list[str]], np.ndarray] | None) -> np.ndarray:
        """Vectors for ``texts``: stored ones re-used, the rest encoded and stored shard by shard.

        Args:
            encode: encodes a list of texts; None means store-only (a miss is an error).

        Raises:
            DocumentStoreError: no texts at all, or store-only and some texts have no stored
                vector.
        """
        _require_texts(entry, texts)
        cache = VectorCache(StoreEntry(self, identity, entry), self.shard_size, self.stats)
        found = cache.lookup(texts)
        if found.missing and encode is None:
            raise DocumentStoreError(
                f"{len(found.missing)} of {len(texts)} documents of {entry.task} ({entry.split}, "
                f"data revision {entry.dataset_revision}) have no stored vector from "
                f"{identity.name} (revision {identity.revision}, {identity.pooling} pooling, max "
                f"length {identity.max_length}, {identity.dtype}) in {self.root}; encode them "
                "first with `medteb encode-documents` using the same document model, settings "
                "and data")
        # one shard per chunk: each chunk's vectors are written as soon as it is encoded
        return cache.encode(texts, None if encode is None else in_chunks(encode, self.shard_size),
                            found)

    def find_encoders(self, **fields: Any) -> list[EncoderIdentity]:
        """Stored encoders whose ``encoder.json`` matches every given field."""
        found = []
        for path in sorted(self.root.glob("*/encoder.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if all(data.get(k) == v for k, v in fields.items() if v is not None):
                found.append(EncoderIdentity(**data))
        return found

    def shards(self, texts: list[str]) -> Iterator[list[str]]:
        """``texts`` cut into shards of ``shard_size``: how :meth:`get_or_encode` cuts its misses.

        Every shard but the last is full, so once some shards are stored the misses of a rerun
        cut into the same shards (what makes a resumed or distributed run write the same files).
        """
        yield from chunks(texts, self.shard_size)


@dataclass(frozen=True)
class StoreEntry:
    """One encoder's vectors of one set of data in a :class:`DocumentStore`: a
    :class:`~medteb.models.vector_cache.VectorBackend`."""

    store: DocumentStore
    identity: StoreIdentity
    entry: EntryKey

    @property
    def location(self) -> Path:
        return self.store.root

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray | None, list[int]]:
        return self.store.lookup(self.identity, self.entry, texts)

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self.store.add(self.identity, self.entry, texts, vectors)


def _require_texts(entry: EntryKey, texts: Sequence[str]) -> None:
    if len(texts) == 0:
        raise DocumentStoreError(
            f"no documents to look up or encode for {entry.task} ({entry.split}, subset "
            f"{entry.subset or 'default'}): the task's corpus is empty")

"""Where a served model's vectors are kept: its own entry of the document store folder.

A served model's vectors do not depend on the task, so all of them live in one entry
(:data:`ALL_TEXTS`) of a :class:`~medteb.models.document_store.DocumentStore`, found by the
exact text sent. :class:`ServedVectors` is that entry as a
:class:`~medteb.models.vector_cache.VectorBackend`; :class:`~medteb.models.served.side.ApiSide`
puts a :class:`~medteb.models.vector_cache.VectorCache` around its HTTP client with it.

**Layout kept from the first release.** Caches written before caching became a wrapper keyed
a served model's folder by an encoder identity with fixed values (revision ``served``, pooling
``api``, maximum length 0, ``float32``). :class:`ServedIdentity` hashes exactly those fields, and
writes the same ``encoder.json``, so every existing cache keeps its folder and stays valid
(``tests/fixtures/vector_cache_int`` is one written by that code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medteb.models.document_store import EntryKey, content_key
from medteb.models.names import API_PREFIX

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import numpy as np

    from medteb.models.document_store import DocumentStore

#: one entry holds every text of a served model: vectors do not depend on the task
ALL_TEXTS = EntryKey(task="(any task: api vectors)", split="-", subset="-", dataset_revision="-")
#: the fields a served model's folder is keyed by besides its name (fixed: see the docstring)
_SERVED_FIELDS: dict[str, Any] = {"revision": "served", "pooling": "api", "max_length": 0,
                                  "dtype": "float32"}


@dataclass(frozen=True)
class ServedIdentity:
    """Who made a served model's stored vectors: its served name (the endpoint does not say
    which weights it serves; :meth:`ApiSide.check_unchanged` guards against a swap).

    Attributes:
        model: the served model name, without ``api/``.
        dim: the vectors' dimension (recorded in ``encoder.json``, not keyed).
    """

    model: str
    dim: int = 0

    @property
    def name(self) -> str:
        return f"{API_PREFIX}{self.model}"

    @property
    def key(self) -> str:
        return content_key({"name": self.name, **_SERVED_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **_SERVED_FIELDS, "dim": self.dim, "n_parameters": 0}


class ServedVectors:
    """(served model, exact text) → vector in a :class:`DocumentStore`: a
    :class:`~medteb.models.vector_cache.VectorBackend`."""

    def __init__(self, store: DocumentStore, model: str) -> None:
        self.store, self.identity = store, ServedIdentity(model)

    @property
    def location(self) -> Path:
        return self.store.root

    def stored_dim(self) -> int | None:
        """The dimension of this model's cached vectors, if any are cached."""
        path = self.store.root / self.identity.key / "encoder.json"
        if not path.is_file():
            return None
        return int(json.loads(path.read_text(encoding="utf-8"))["dim"])

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray | None, list[int]]:
        return self.store.lookup(self.identity, ALL_TEXTS, texts)

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        identity = ServedIdentity(self.identity.model, int(vectors.shape[1]))
        self.store.add(identity, ALL_TEXTS, texts, vectors)

"""Stage 2: near-duplicate filtering over a FAISS index (paper Appendix C, Table 10).

Candidates are taken in file order. Each is embedded (L2-normalised, so inner product is cosine
similarity), its top-``k`` neighbours are retrieved among the candidates *kept so far*, and it
is dropped if more than ``n`` of them have similarity above ``t``; otherwise it is added to the
index. Queries and documents are filtered independently, with Table 10's defaults (queries
k=5, t=0.85, n=1; documents k=5, t=0.78, n=1). Note the paper's rule: with n=1 a candidate is
dropped only when at least *two* kept neighbours exceed t; use n=0 to drop on the first one.

The embedder is any model ``medteb run`` accepts (through :func:`medteb.build.pool.encode_texts`)
or any object with ``encode(texts) -> array``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medteb._fileio import atomic_write
from medteb._vectors import l2_normalise
from medteb.errors import BuildInputError


@dataclass(frozen=True)
class DiversifyParams:
    """k neighbours, similarity threshold t, at most n similar neighbours allowed."""

    k: int = 5
    t: float = 0.85
    n: int = 1

    def __post_init__(self) -> None:
        if self.k < 1 or self.n < 0 or not -1.0 <= self.t <= 1.0:
            raise BuildInputError(f"diversify: need k >= 1, n >= 0 and -1 <= t <= 1 "
                                  f"(got k={self.k}, t={self.t}, n={self.n})")


QUERY_DEFAULTS = DiversifyParams(k=5, t=0.85, n=1)
DOCUMENT_DEFAULTS = DiversifyParams(k=5, t=0.78, n=1)


@dataclass(frozen=True)
class DiversifyReport:
    """How many candidates were read and kept, and up to 20 examples of dropped ones."""

    read: int
    kept: int
    params: DiversifyParams
    examples: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "kept": self.kept, "dropped": self.read - self.kept,
                "k": self.params.k, "t": self.params.t, "n": self.params.n,
                "examples": self.examples}

    def to_markdown(self, kind: str) -> str:
        p = self.params
        return (f"{kind}: read {self.read}, kept {self.kept}, dropped {self.read - self.kept} "
                f"near-duplicates (k={p.k}, t={p.t}, n={p.n})\n")


def _normalise(vectors: np.ndarray) -> np.ndarray:
    if np.ndim(vectors) != 2:
        raise BuildInputError("diversify: the embedder must return one vector per text")
    return l2_normalise(vectors)


def select_diverse(vectors: np.ndarray, params: DiversifyParams, *,
                   seed: np.ndarray | None = None,
                   show_progress: bool = False) -> tuple[list[int], list[tuple[int, list[int]]]]:
    """Indices of the rows kept, and (dropped row, the kept rows above t) pairs.

    Rows are L2-normalised here; similarity is cosine, via ``faiss.IndexFlatIP``. ``seed``
    vectors (e.g. an existing corpus, as the paper seeds its index with 5,000 documents) are in
    the index from the start and are never output; in the returned pairs, seed row ``j`` is
    written ``-(j + 1)``.
    """
    import faiss

    x = _normalise(vectors)
    index = faiss.IndexFlatIP(x.shape[1])
    owner: list[int] = []
    if seed is not None and len(seed):
        s = _normalise(seed)
        if s.shape[1] != x.shape[1]:
            raise BuildInputError(f"diversify: seed vectors have {s.shape[1]} dimensions, the "
                                  f"candidates {x.shape[1]}; embed both with the same model")
        index.add(s)
        owner += [-(j + 1) for j in range(len(s))]
    kept: list[int] = []
    dropped: list[tuple[int, list[int]]] = []
    rows = range(len(x))
    if show_progress:
        from rich.progress import track

        rows = track(rows, description="diversifying", transient=True)
    for i in rows:
        if index.ntotal:
            scores, ids = index.search(x[i:i + 1], min(params.k, index.ntotal))
            close = [owner[j] for s, j in zip(scores[0], ids[0], strict=True)
                     if j >= 0 and s > params.t]
            if len(close) > params.n:
                dropped.append((i, close))
                continue
        index.add(x[i:i + 1])
        owner.append(i)
        kept.append(i)
    return kept, dropped


def _embed(model: Any, texts: Sequence[str], as_queries: bool, batch_size: int) -> np.ndarray:
    if hasattr(model, "mteb_model_meta"):
        from medteb.build.pool import encode_texts

        return encode_texts(model, texts, as_queries=as_queries, batch_size=batch_size)
    return np.asarray(model.encode(list(texts)), dtype=np.float32)


class CachedEmbedder:
    """Embeds texts with a model once: vectors are saved under ``folder`` keyed by the model
    name, the side (queries / documents) and the exact texts, so a rerun after a crash or a
    change of k, t, n does not encode again."""

    def __init__(self, model: Any, model_name: str, folder: str | os.PathLike, *,
                 as_queries: bool, batch_size: int = 32) -> None:
        self.model, self.model_name, self.folder = model, model_name, Path(folder)
        self.as_queries, self.batch_size = as_queries, batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        digest = hashlib.sha256(json.dumps([self.model_name, self.as_queries, list(texts)],
                                           ensure_ascii=False).encode("utf-8")).hexdigest()
        side = "queries" if self.as_queries else "documents"
        path = self.folder / f"{side}-{digest[:16]}.npy"
        if path.is_file():
            return np.load(path)
        vectors = _embed(self.model, texts, self.as_queries, self.batch_size)
        def save(tmp: str) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, vectors)

        atomic_write(path, save)
        return vectors


def diversify(rows: Mapping[str, Mapping[str, Any]], model: Any, params: DiversifyParams, *,
              as_queries: bool, batch_size: int = 32,
              seed_rows: Mapping[str, Mapping[str, Any]] | None = None,
              show_progress: bool = False) -> tuple[list[str], DiversifyReport]:
    """Filter id -> ``{"text"}`` rows; returns the kept ids (in input order) and a report.

    ``seed_rows`` (id -> ``{"text"}``) pre-populate the index: candidates too close to them are
    dropped too (use it to extend an existing set without near-duplicates of it).
    """
    ids = list(rows)
    texts: Sequence[str] = [rows[i]["text"] for i in ids]
    if not ids:
        return [], DiversifyReport(0, 0, params, [])
    vectors = _embed(model, texts, as_queries, batch_size)
    seed_ids = list(seed_rows or {})
    seed = (_embed(model, [seed_rows[i]["text"] for i in seed_ids], as_queries, batch_size)
            if seed_rows else None)
    kept, dropped = select_diverse(vectors, params, seed=seed, show_progress=show_progress)

    def name(j: int) -> str:
        return ids[j] if j >= 0 else f"seed:{seed_ids[-j - 1]}"

    examples = [{"dropped": ids[i], "text": texts[i], "similar_to": [name(j) for j in close]}
                for i, close in dropped[:20]]
    return [ids[i] for i in kept], DiversifyReport(len(ids), len(kept), params, examples)

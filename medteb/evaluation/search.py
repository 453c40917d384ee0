"""Lean exact search for dense encoders: what ``medteb run`` uses instead of mteb's default.

mteb's default search for an encoder keeps a heap per query in Python and scores chunks with
torch; for reranking it encodes the whole corpus even when the candidates are fewer. MedTEB's
:class:`ExactSearch` gives the same (exact) ranking with less around the model:

- each distinct document text is encoded **once** (the same answer under many ids, or the
  same candidate under many rerank queries, costs one encoding);
- reranking encodes only documents that are some query's candidate, and scores each query's
  candidates with one matrix-vector product;
- full-corpus search is exact top-k with ``faiss.knn`` straight on the embedding matrix (no
  index copy: peak memory stays near the matrix itself), in query blocks;
- results are built as plain dicts (no per-hit heap operations).

It is both an mteb ``SearchProtocol`` (retrieval, reranking) and an ``EncoderProtocol``
(everything else, delegated to the wrapped model), so mteb's evaluation and metrics
(pytrec_eval) are unchanged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from medteb._vectors import as_float32_matrix, l2_normalise

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.types import (
        Array,
        CorpusDatasetType,
        EncodeKwargs,
        QueryDatasetType,
        RetrievalOutputType,
        TopRankedDocumentsType,
    )

logger = logging.getLogger(__name__)
QUERY_BLOCK = 4096


def supports(model: Any) -> bool:
    """Whether ``model`` is a plain dense encoder that :class:`ExactSearch` can serve exactly."""
    from mteb.models.model_meta import ScoringFunction
    from mteb.models.models_protocols import (
        CrossEncoderProtocol,
        EncoderProtocol,
        SearchProtocol,
    )

    if isinstance(model, (SearchProtocol, CrossEncoderProtocol)):
        return False
    meta = getattr(model, "mteb_model_meta", None)
    if not isinstance(model, EncoderProtocol) or meta is None:
        return False
    if "dense" not in (meta.model_type or ["dense"]):
        return False
    return meta.similarity_fn_name in (ScoringFunction.COSINE, ScoringFunction.DOT_PRODUCT)


def top_k_inner_product(queries: np.ndarray, documents: np.ndarray,
                        k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by inner product: (scores, document indices), best first, per query."""
    import faiss

    k = min(k, len(documents))
    scores = np.empty((len(queries), k), dtype=np.float32)
    indices = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), QUERY_BLOCK):
        block = slice(start, start + QUERY_BLOCK)
        scores[block], indices[block] = faiss.knn(queries[block], documents, k,
                                                  metric=faiss.METRIC_INNER_PRODUCT)
    return scores, indices


def _as_matrix(embeddings: Array, normalise: bool) -> np.ndarray:
    matrix = as_float32_matrix(embeddings)
    return l2_normalise(matrix, in_place=True) if normalise else matrix


def document_loader(corpus: CorpusDatasetType, task_metadata: TaskMetadata,
                    batch_size: int) -> Any:
    """mteb's document dataloader for a text corpus, built column-wise.

    Gives the rows mteb's ``create_dataloader(..., prompt_type=document)`` gives (``text`` = title
    and text joined, ``body`` = the text, the other columns kept) without its row-by-row
    ``Dataset.map``, which costs about as much as encoding with a small model.
    """
    from datasets import Dataset
    from mteb.types import PromptType
    from torch.utils.data import DataLoader

    from medteb._mteb import create_dataloader, text_collate_fn

    if task_metadata.get_modalities(PromptType.document) != ["text"]:
        return create_dataloader(corpus, task_metadata=task_metadata,
                                 prompt_type=PromptType.document, batch_size=batch_size)
    columns = corpus.to_dict()
    bodies = columns["text"]
    titles = columns.get("title") or [None] * len(bodies)
    columns["text"] = [f"{t} {b}".strip() if t else b.strip()
                       for t, b in zip(titles, bodies, strict=True)]
    columns["body"] = bodies
    return DataLoader(Dataset.from_dict(columns), batch_size=batch_size,
                      collate_fn=text_collate_fn(), shuffle=False)


def unique_rows(keys: Sequence[Any]) -> tuple[list[int], np.ndarray]:
    """First row of each distinct key, and for every row the index of its key in that list."""
    slots: dict[Any, int] = {}
    keep: list[int] = []
    inverse = np.empty(len(keys), dtype=np.int64)
    for row, key in enumerate(keys):
        slot = slots.get(key)
        if slot is None:
            slot = slots[key] = len(keep)
            keep.append(row)
        inverse[row] = slot
    return keep, inverse


class ExactSearch:
    """Exact, deduplicated dense search around an mteb encoder (see the module docstring)."""

    def __init__(self, model: Any) -> None:
        from mteb.models.model_meta import ScoringFunction

        self.model = model
        self.mteb_model_meta = model.mteb_model_meta
        self._normalise = self.mteb_model_meta.similarity_fn_name == ScoringFunction.COSINE
        self._corpus: CorpusDatasetType | None = None
        self.documents_encoded = 0

    # --- EncoderProtocol: everything that is not search goes to the model -----------------
    def encode(self, inputs: Any, **kwargs: Any) -> Array:
        return self.model.encode(inputs, **kwargs)

    def similarity(self, embeddings1: Array, embeddings2: Array) -> Array:
        return self.model.similarity(embeddings1, embeddings2)

    def similarity_pairwise(self, embeddings1: Array, embeddings2: Array) -> Array:
        return self.model.similarity_pairwise(embeddings1, embeddings2)

    # --- SearchProtocol --------------------------------------------------------------------
    def index(self, corpus: CorpusDatasetType, *, task_metadata: TaskMetadata, hf_split: str,
              hf_subset: str, encode_kwargs: EncodeKwargs, num_proc: int | None = None,
              **kwargs: Any) -> None:
        """Keep the corpus; documents are encoded in :meth:`search` (only those needed)."""
        self._corpus = corpus

    def _encode_documents(self, rows: list[int], task_metadata: TaskMetadata, hf_split: str,
                          hf_subset: str, encode_kwargs: EncodeKwargs) -> np.ndarray:
        """Embeddings of corpus ``rows``: each distinct text encoded once."""
        from mteb.types import PromptType

        assert self._corpus is not None
        subset = self._corpus.select(rows) if len(rows) < len(self._corpus) else self._corpus
        titles = subset["title"] if "title" in subset.column_names else [None] * len(subset)
        keep, inverse = unique_rows(list(zip(titles, subset["text"], strict=True)))
        distinct = subset.select(keep) if len(keep) < len(subset) else subset
        embeddings = self.model.encode(
            document_loader(distinct, task_metadata, encode_kwargs.get("batch_size", 32)),
            task_metadata=task_metadata, hf_split=hf_split, hf_subset=hf_subset,
            prompt_type=PromptType.document, **encode_kwargs)
        self.documents_encoded += len(keep)
        matrix = _as_matrix(embeddings, self._normalise)
        return matrix if len(keep) == len(subset) else matrix[inverse]

    def search(self, queries: QueryDatasetType, *, task_metadata: TaskMetadata, hf_split: str,
               hf_subset: str, top_k: int, encode_kwargs: EncodeKwargs,
               top_ranked: TopRankedDocumentsType | None = None, num_proc: int | None = None,
               **kwargs: Any) -> RetrievalOutputType:
        """Exact top-``top_k`` per query (over its candidates when ``top_ranked`` is given)."""
        from mteb.types import PromptType

        from medteb._mteb import create_dataloader

        if self._corpus is None:
            raise ValueError("index() must be called before search()")
        query_vectors = _as_matrix(self.model.encode(
            create_dataloader(queries, task_metadata=task_metadata, prompt_type=PromptType.query,
                              batch_size=encode_kwargs.get("batch_size", 32)),
            task_metadata=task_metadata, hf_split=hf_split, hf_subset=hf_subset,
            prompt_type=PromptType.query, **encode_kwargs), self._normalise)
        query_ids = list(queries["id"])
        corpus_ids = list(self._corpus["id"])
        if top_ranked is None:
            documents = self._encode_documents(list(range(len(corpus_ids))), task_metadata,
                                               hf_split, hf_subset, encode_kwargs)
            scores, indices = top_k_inner_product(query_vectors, documents, top_k)
            return {qid: {corpus_ids[i]: float(s) for s, i in zip(row_s, row_i, strict=True)
                          if i >= 0}
                    for qid, row_s, row_i in zip(query_ids, scores, indices, strict=True)}
        position = {doc_id: row for row, doc_id in enumerate(corpus_ids)}
        needed = sorted({position[d] for q in query_ids for d in top_ranked.get(q, ())})
        documents = self._encode_documents(needed, task_metadata, hf_split, hf_subset,
                                           encode_kwargs)
        local = {row: i for i, row in enumerate(needed)}
        results: RetrievalOutputType = {}
        for qid, vector in zip(query_ids, query_vectors, strict=True):
            candidates = top_ranked.get(qid) or []
            if not candidates:
                results[qid] = {}
                continue
            rows = [local[position[d]] for d in candidates]
            scores = documents[rows] @ vector
            order = np.argsort(-scores, kind="stable")[:top_k]
            results[qid] = {candidates[i]: float(scores[i]) for i in order}
        return results

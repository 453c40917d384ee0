"""Stage 3: candidate pools from several retrievers (paper Appendix B).

For each query, the pool is the union of the top-K documents of every retriever, each candidate
recording which retrievers found it and at what rank (1 = best). Retrievers are any models
``medteb run`` accepts (:func:`medteb.models.load_model`): ``bm25-zh``, a local model folder or
a name mteb knows. They run through mteb's own search interface with the metadata (and
instructions) of the MedTEB-Retrieval task. Candidates are ordered by their best rank, then by
how many retrievers found them, then by id, so the pool is deterministic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

TASK_FOR_METADATA = "MedTEB-Retrieval"


def retrieval_metadata() -> Any:
    """MedTEB-Retrieval's mteb metadata, which the retrievers encode with (its prompts)
    (also used by :mod:`medteb.build.pool_ray`)."""
    import mteb

    import medteb

    medteb.register()
    return mteb.get_task(TASK_FOR_METADATA).metadata


def retrieve(model: Any, queries: Mapping[str, Mapping[str, Any]],
             corpus: Mapping[str, Mapping[str, Any]], top_k: int, *,
             batch_size: int = 32, min_score: float | None = None) -> dict[str, list[str]]:
    """The top ``top_k`` documents of ``corpus`` for each query, best first.

    Args:
        model: a loaded mteb model (search-capable, like ``bm25-zh``, or an encoder).
        queries: query id -> ``{"text"}``; corpus: doc id -> ``{"text", "title"?}``.
        top_k: how many documents to keep per query.
        min_score: keep only documents scoring above it (e.g. 0 for ``bm25-zh``: no shared
            term), so that judges are not paid to rate obvious misses.
    """
    from datasets import Dataset
    from mteb.models import SearchEncoderWrapper

    meta = retrieval_metadata()
    corpus_ds = Dataset.from_dict({
        "id": list(corpus), "text": [r["text"] for r in corpus.values()],
        "title": [r.get("title") or "" for r in corpus.values()]})
    queries_ds = Dataset.from_dict({"id": list(queries),
                                    "text": [r["text"] for r in queries.values()]})
    searcher = model if hasattr(model, "search") and hasattr(model, "index") else (
        SearchEncoderWrapper(model))
    common = {"task_metadata": meta, "hf_split": "test", "hf_subset": "default",
              "encode_kwargs": {"batch_size": batch_size}}
    searcher.index(corpus_ds, **common)
    results = searcher.search(queries_ds, top_k=top_k, **common)
    return {qid: [d for d, score in sorted(results.get(qid, {}).items(),
                                           key=lambda kv: (-kv[1], kv[0]))
                  if min_score is None or score > min_score][:top_k]
            for qid in queries}


def encode_texts(model: Any, texts: Sequence[str], *, as_queries: bool,
                 batch_size: int = 32) -> np.ndarray:
    """Embed texts with a loaded mteb model (as queries or as documents), as float32 rows."""
    import numpy as np
    from datasets import Dataset
    from mteb.types import PromptType

    from medteb._mteb import create_dataloader

    meta = retrieval_metadata()
    prompt = PromptType.query if as_queries else PromptType.document
    ds = Dataset.from_dict({"id": [str(i) for i in range(len(texts))], "text": list(texts)})
    if not as_queries:
        ds = ds.add_column("title", [""] * len(texts))
    loader = create_dataloader(ds, task_metadata=meta, prompt_type=prompt, batch_size=batch_size)
    vectors = model.encode(loader, task_metadata=meta, hf_split="test", hf_subset="default",
                           prompt_type=prompt)
    return np.asarray(vectors, dtype=np.float32)


def merge_runs(runs: Mapping[str, Mapping[str, Sequence[str]]],
               query_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Merge per-retriever rankings into pool rows ``{"query_id", "candidates"}``.

    >>> merge_runs({"a": {"q": ["d1", "d2"]}, "b": {"q": ["d3", "d1"]}}, ["q"])[0]["candidates"]
    [{'doc_id': 'd1', 'found_by': {'a': 1, 'b': 2}}, {'doc_id': 'd3', 'found_by': {'b': 1}}, \
{'doc_id': 'd2', 'found_by': {'a': 2}}]
    """
    rows = []
    for qid in query_ids:
        found: dict[str, dict[str, int]] = {}
        for name, ranking in runs.items():
            for rank, doc_id in enumerate(ranking.get(qid, []), start=1):
                found.setdefault(doc_id, {})[name] = rank
        ordered = sorted(found.items(),
                         key=lambda kv: (min(kv[1].values()), -len(kv[1]), kv[0]))
        rows.append({"query_id": qid,
                     "candidates": [{"doc_id": d, "found_by": f} for d, f in ordered]})
    return rows


def run_fingerprint(name: str, top_k: int, queries: Mapping[str, Any],
                    corpus: Mapping[str, Any], min_score: float | None = None) -> str:
    """Identifies one retriever's run (model name, K, threshold, exact inputs) for reuse."""
    digest = hashlib.sha256(json.dumps([name, top_k, min_score], ensure_ascii=False).encode())
    for table in (queries, corpus):
        for key, row in table.items():
            digest.update(f"{key}\0{row.get('title') or ''}\0{row['text']}\n".encode())
    return digest.hexdigest()[:16]

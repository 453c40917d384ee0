"""Lean exact search: each distinct document encoded once, same scores as mteb's own search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mteb
import numpy as np
import pytest
from mteb.models.model_meta import ScoringFunction

from medteb.benchmark.tasks import get_task
from medteb.evaluation.search import ExactSearch, supports, top_k_inner_product, unique_rows
from medteb.models.bm25 import BM25Zh
from medteb.results.layout import ResultsFolder
from tests.conftest import write_jsonl, write_qrels
from tests.test_metrics import LookupEncoder


class CountingLookup(LookupEncoder):
    """The table-lookup encoder, remembering every text it was asked to encode."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        super().__init__(vectors)
        self.seen: list[str] = []

    def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
        self.seen += [t for batch in inputs for t in batch["text"]]
        return super().encode(inputs, **kwargs)


VECTORS = {"问一": [1, 0], "问二": [0, 1], "文一": [1, 0], "文二": [0.8, 0.6], "文三": [0.6, 0.8],
           "孤文": [0.5, 0.5]}


def _rerank_dir(root: Path) -> Path:
    task = root / "MedTEB-Rerank"
    # d1 and d1b carry the same text; "孤文" (d9) is nobody's candidate
    write_jsonl(task / "corpus.jsonl", [
        {"_id": "d1", "text": "文一"}, {"_id": "d1b", "text": "文一"}, {"_id": "d2", "text": "文二"},
        {"_id": "d3", "text": "文三"}, {"_id": "d9", "text": "孤文"}])
    write_jsonl(task / "queries.jsonl", [{"_id": "q1", "text": "问一"}, {"_id": "q2", "text": "问二"}])
    write_qrels(task / "qrels" / "test.tsv", [("q1", "d2", 1), ("q2", "d3", 1)])
    write_jsonl(task / "top_ranked" / "test.jsonl", [
        {"query-id": "q1", "corpus-ids": ["d1", "d2", "d3"]},
        {"query-id": "q2", "corpus-ids": ["d1b", "d2", "d3"]}])
    return root


def test_each_distinct_candidate_text_is_encoded_once(tmp_path: Path) -> None:
    model = CountingLookup(VECTORS)
    task = get_task("MedTEB-Rerank", data_dir=_rerank_dir(tmp_path / "data"))
    result = mteb.evaluate(ExactSearch(model), task, cache=ResultsFolder(tmp_path / "r"),
                           show_progress_bar=False)
    documents = [t for t in model.seen if t.startswith(("文", "孤"))]
    assert sorted(documents) == ["文一", "文三", "文二"]  # d1/d1b once, d9 never
    # q1 = (1, 0): d1 1.0, d2 0.8, d3 0.6 -> positive d2 at rank 2: AP 1/2.
    # q2 = (0, 1): d3 0.8, d2 0.6, d1b 0.0 -> positive d3 at rank 1: AP 1.  MAP = 0.75.
    assert result.task_results[0].get_score() == pytest.approx(0.75)


def test_same_scores_as_mteb_search(tmp_path: Path, tiny_bert: Path) -> None:
    from medteb.models import load_model

    model = load_model(str(tiny_bert))
    for name in ("MedTEB-Retrieval", "MedTEB-Rerank"):
        plain = mteb.evaluate(model, get_task(name, data_dir="sample"),
                              cache=ResultsFolder(tmp_path / "plain"), show_progress_bar=False)
        lean = mteb.evaluate(ExactSearch(model), get_task(name, data_dir="sample"),
                             cache=ResultsFolder(tmp_path / "lean"), show_progress_bar=False)
        plain_scores = plain.task_results[0].scores["test"][0]
        lean_scores = lean.task_results[0].scores["test"][0]
        for metric in ("ndcg_at_10", "map_at_1000", "recall_at_100", "mrr_at_10"):
            assert lean_scores[metric] == plain_scores[metric], (name, metric)


def test_top_k_matches_a_brute_force_sort() -> None:
    rng = np.random.default_rng(0)
    queries = rng.normal(size=(7, 16)).astype(np.float32)
    documents = rng.normal(size=(300, 16)).astype(np.float32)
    scores, indices = top_k_inner_product(queries, documents, 10)
    full = queries @ documents.T
    expected = np.argsort(-full, axis=1)[:, :10]
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, 1), rtol=1e-5)
    assert top_k_inner_product(queries, documents[:3], 10)[1].shape == (7, 3)


def test_unique_rows() -> None:
    keep, inverse = unique_rows(["a", "b", "a", "c", "b"])
    assert keep == [0, 1, 3] and inverse.tolist() == [0, 1, 0, 2, 1]


def test_only_plain_dense_encoders_are_wrapped() -> None:
    assert supports(LookupEncoder(VECTORS))
    assert not supports(BM25Zh())  # has its own search
    euclidean = LookupEncoder(VECTORS)
    euclidean.mteb_model_meta = euclidean.mteb_model_meta.model_copy(
        update={"similarity_fn_name": ScoringFunction.EUCLIDEAN})
    assert not supports(euclidean)


def test_document_loader_gives_mteb_batches() -> None:
    from datasets import Dataset
    from mteb._create_dataloaders import create_dataloader
    from mteb.types import PromptType

    from medteb.evaluation.search import document_loader

    metadata = get_task("MedTEB-Retrieval").metadata
    corpus = Dataset.from_list([{"id": "a", "title": "", "text": " 文一 "},
                                {"id": "b", "title": "标题", "text": "文二"},
                                {"id": "c", "title": "", "text": "文三"}])
    ours = list(document_loader(corpus, metadata, 2))
    mtebs = list(create_dataloader(corpus, task_metadata=metadata,
                                   prompt_type=PromptType.document, batch_size=2))
    assert ours == mtebs
    assert ours[0]["text"] == ["文一", "标题 文二"]

"""Main scores through the mteb runner: hand-derived on toy data, independent on real data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mteb.models.abs_encoder import AbsEncoder
from mteb.models.model_meta import ModelMeta, ScoringFunction

from medteb.benchmark.tasks import get_task
from tests.conftest import write_jsonl, write_qrels


def unit(degrees: float) -> list[float]:
    return [math.cos(math.radians(degrees)), math.sin(math.radians(degrees))]


class LookupEncoder(AbsEncoder):
    """Embeds each text by table lookup, so every similarity is known in advance."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors
        self.mteb_model_meta = ModelMeta.create_empty(overwrites={
            "name": "test/lookup", "revision": "1", "similarity_fn_name": ScoringFunction.COSINE,
            "embed_dim": 2, "n_parameters": 0, "framework": [], "use_instructions": False})

    def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
        return np.array([self.vectors[t] for batch in inputs for t in batch["text"]],
                        dtype=np.float32)


# Two queries and four documents in 2-d. Cosine with q1 = (1, 0): d1 1.0, d2 0.8, d3 0.6, d4 0.0;
# with q2 = (0, 1): d4 1.0, d3 0.8, d2 0.6, d1 0.0.
VECTORS = {"问一": [1, 0], "问二": [0, 1], "文一": [1, 0], "文二": [0.8, 0.6], "文三": [0.6, 0.8],
           "文四": [0, 1]}
CORPUS = [{"_id": f"d{i}", "text": t} for i, t in enumerate(["文一", "文二", "文三", "文四"], 1)]
QUERIES = [{"_id": "q1", "text": "问一"}, {"_id": "q2", "text": "问二"}]


def evaluate(task_name: str, data_dir: Path, model: Any) -> dict[str, float]:
    import mteb

    task = get_task(task_name, data_dir=data_dir)
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False)
    return result.task_results[0].scores["test"][0]


def test_retrieval_ndcg_and_map_by_hand(tmp_path: Path) -> None:
    root = tmp_path / "MedTEB-Retrieval"
    write_jsonl(root / "corpus.jsonl", CORPUS)
    write_jsonl(root / "queries.jsonl", QUERIES)
    write_qrels(root / "qrels/test.tsv", [("q1", "d2", 1), ("q1", "d4", 1), ("q2", "d3", 1)])
    scores = evaluate("MedTEB-Retrieval", tmp_path, LookupEncoder(VECTORS))
    # q1 ranks d1 d2 d3 d4, relevant d2 (rank 2) and d4 (rank 4):
    #   DCG = 1/log2(3) + 1/log2(5) = 1.061606, IDCG = 1 + 1/log2(3) = 1.630930, nDCG = 0.650921
    #   AP = (1/2 + 2/4) / 2 = 0.5
    # q2 ranks d4 d3 d2 d1, relevant d3 (rank 2): nDCG = 1/log2(3) = 0.630930, AP = 0.5
    assert scores["ndcg_at_10"] == pytest.approx((0.650921 + 0.630930) / 2, abs=5e-6)  # mteb rounds to 5 decimals
    assert scores["map_at_1000"] == pytest.approx(0.5, abs=5e-6)  # mteb rounds to 5 decimals
    assert scores["main_score"] == scores["ndcg_at_10"]


def test_rerank_scores_each_query_over_its_own_candidates(tmp_path: Path) -> None:
    root = tmp_path / "MedTEB-Rerank"
    write_jsonl(root / "corpus.jsonl", CORPUS)
    write_jsonl(root / "queries.jsonl", QUERIES)
    write_qrels(root / "qrels/test.tsv", [("q1", "d4", 1), ("q2", "d2", 1)])
    write_jsonl(root / "top_ranked/test.jsonl", [{"query-id": "q1", "corpus-ids": ["d1", "d3", "d4"]},
                                                 {"query-id": "q2", "corpus-ids": ["d1", "d2", "d3"]}])
    scores = evaluate("MedTEB-Rerank", tmp_path, LookupEncoder(VECTORS))
    # q1 over its candidates: d1 d3 d4 -> AP = 1/3 (over the full corpus d2 would come second: 1/4)
    # q2 over its candidates: d3 d2 d1 -> AP = 1/2 (full corpus: d4 d3 d2 -> 1/3)
    assert scores["map_at_1000"] == pytest.approx((1 / 3 + 1 / 2) / 2, abs=5e-6)  # mteb rounds to 5 decimals
    assert scores["main_score"] == scores["map_at_1000"]


def test_sts_pearson_by_hand(tmp_path: Path) -> None:
    cosines = [0.9, 0.1, 0.5, 0.3]
    labels = [1, 0, 1, 0]
    vectors = {"问": [1.0, 0.0]}
    rows = []
    for i, (c, y) in enumerate(zip(cosines, labels, strict=True)):
        text = f"答{i}"
        vectors[text] = unit(math.degrees(math.acos(c)))
        rows.append({"sentence1": "问", "sentence2": text, "score": y})
    write_jsonl(tmp_path / "MedTEB-STS/sts/test.jsonl", rows)
    scores = evaluate("MedTEB-STS", tmp_path, LookupEncoder(vectors))
    # deviations: labels (.5, -.5, .5, -.5), cosines (.45, -.35, .05, -.15)
    # r = 0.5 / sqrt(1.0 * 0.35) = 0.845154
    assert scores["cosine_pearson"] == pytest.approx(0.845154, abs=5e-6)  # mteb rounds to 5 decimals
    assert scores["main_score"] == scores["cosine_pearson"]


def _cosine_run(model: Any, queries: list[dict], corpus: list[dict],
                candidates: dict[str, list[str]] | None) -> dict[str, dict[str, float]]:
    q = model.encode([r["text"] for r in queries], normalize_embeddings=True)
    d = model.encode([r["text"] for r in corpus], normalize_embeddings=True)
    scores = q @ d.T
    index = {r["_id"]: i for i, r in enumerate(corpus)}
    run: dict[str, dict[str, float]] = {}
    for qi, query in enumerate(queries):
        ids = candidates[query["_id"]] if candidates else [r["_id"] for r in corpus]
        ranked = sorted(ids, key=lambda did: -scores[qi, index[did]])[:1000]
        run[query["_id"]] = {did: float(scores[qi, index[did]]) for did in ranked}
    return run


def _read_jsonl(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


@pytest.mark.parametrize("task_name", ["MedTEB-Retrieval", "MedTEB-Rerank"])
def test_real_data_against_pytrec_eval(task_name: str, cepilepsy_dirs: Path, tiny_bert: Path,
                                       tmp_path: Path) -> None:
    """cEpilepsyQA (490 queries, 4,900 answers) with a tiny BERT, checked in two independent
    halves: (1) mteb's saved ranking scores equal cosine similarities computed here with plain
    sentence-transformers; (2) pytrec_eval on that ranking gives mteb's nDCG@10 and MAP.
    (A random tiny model yields near-tied scores, so float noise may reorder ties: the two
    halves are compared on the same ranking rather than on two separately sorted ones.)"""
    import json

    import pytrec_eval
    from sentence_transformers import SentenceTransformer

    from medteb.models import load_local_model

    root = cepilepsy_dirs / task_name
    queries, corpus = _read_jsonl(root / "queries.jsonl"), _read_jsonl(root / "corpus.jsonl")
    qrels: dict[str, dict[str, int]] = {}
    for line in (root / "qrels/test.tsv").read_text("utf-8").splitlines()[1:]:
        qid, did, score = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(score)
    top = root / "top_ranked/test.jsonl"
    candidates = ({r["query-id"]: r["corpus-ids"] for r in _read_jsonl(top)}
                  if task_name == "MedTEB-Rerank" else None)

    import mteb

    task = get_task(task_name, data_dir=cepilepsy_dirs)
    result = mteb.evaluate(load_local_model(str(tiny_bert)), task, cache=None,
                           show_progress_bar=False, prediction_folder=tmp_path)
    scores = result.task_results[0].scores["test"][0]
    saved = json.loads(next(tmp_path.glob("*_predictions.json")).read_text("utf-8"))
    mteb_run = saved["default"]["test"]

    st = SentenceTransformer(str(tiny_bert), device="cpu")
    own_run = _cosine_run(st, queries, corpus, candidates)
    shared = [(q, d) for q in own_run for d in own_run[q] if d in mteb_run[q]]
    assert len(shared) >= 0.95 * sum(len(v) for v in own_run.values())
    assert max(abs(own_run[q][d] - mteb_run[q][d]) for q, d in shared) < 1e-5
    if candidates:
        assert all(set(mteb_run[q]) == set(candidates[q]) for q in candidates)

    measures = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "map"}).evaluate(mteb_run)
    assert scores["ndcg_at_10"] == pytest.approx(
        np.mean([m["ndcg_cut_10"] for m in measures.values()]), abs=5e-6)
    assert scores["map_at_1000"] == pytest.approx(
        np.mean([m["map"] for m in measures.values()]), abs=5e-6)


def test_real_sts_against_scipy(chip_sts_dir: Path, tiny_bert: Path, tmp_path: Path) -> None:
    """CHIP-STS dev (4,000 labelled pairs): mteb's saved cosine scores equal those computed here
    with plain sentence-transformers, and scipy's Pearson on them is mteb's main score. (The
    random tiny model's cosines are nearly tied, so float noise alone moves Pearson in the third
    decimal between two separately encoded runs: both halves use the same scores.)"""
    import json

    import mteb
    from scipy.stats import pearsonr
    from sentence_transformers import SentenceTransformer

    from medteb.models import load_local_model

    rows = _read_jsonl(chip_sts_dir / "MedTEB-STS/sts/test.jsonl")
    st = SentenceTransformer(str(tiny_bert), device="cpu")
    a = st.encode([r["sentence1"] for r in rows], normalize_embeddings=True)
    b = st.encode([r["sentence2"] for r in rows], normalize_embeddings=True)
    own = (a * b).sum(axis=1)

    task = get_task("MedTEB-STS", data_dir=chip_sts_dir)
    result = mteb.evaluate(load_local_model(str(tiny_bert)), task, cache=None,
                           show_progress_bar=False, prediction_folder=tmp_path)
    scores = result.task_results[0].scores["test"][0]
    saved = json.loads(next(tmp_path.glob("*_predictions.json")).read_text("utf-8"))
    cosines = np.asarray(saved["default"]["test"]["cosine_scores"])
    assert np.abs(cosines - own).max() < 1e-5
    expected = pearsonr([r["score"] for r in rows], cosines).statistic
    assert scores["cosine_pearson"] == pytest.approx(expected, abs=5e-6)  # mteb rounds to 5 dp


def test_bm25_rerank_on_real_data_against_pytrec_eval(cepilepsy_dirs: Path, tmp_path: Path) -> None:
    """bm25-zh on cEpilepsyQA reranking: it scores exactly each query's candidates, mteb saves
    those scores, and pytrec_eval on them gives mteb's MAP."""
    import json

    import mteb
    import pytrec_eval

    from medteb.models.bm25 import BM25Zh

    task = get_task("MedTEB-Rerank", data_dir=cepilepsy_dirs)
    task.load_data()
    split = task.dataset["default"]["test"]
    model = BM25Zh()
    model.index(split["corpus"], task_metadata=task.metadata, hf_split="test",
                hf_subset="default", encode_kwargs={})
    own_run = model.search(split["queries"], task_metadata=task.metadata, hf_split="test",
                           hf_subset="default", top_k=1000, encode_kwargs={},
                           top_ranked=split["top_ranked"])
    assert all(set(own_run[q]) == set(split["top_ranked"][q]) for q in own_run)

    result = mteb.evaluate(BM25Zh(), get_task("MedTEB-Rerank", data_dir=cepilepsy_dirs),
                           cache=None, show_progress_bar=False, prediction_folder=tmp_path)
    scores = result.task_results[0].scores["test"][0]
    saved = json.loads(next(tmp_path.glob("*_predictions.json")).read_text("utf-8"))
    mteb_run = saved["default"]["test"]
    assert {q: {d: round(v, 4) for d, v in r.items()} for q, r in mteb_run.items()} == {
        q: {d: round(v, 4) for d, v in r.items()} for q, r in own_run.items()}
    measures = pytrec_eval.RelevanceEvaluator(split["relevant_docs"], {"map"}).evaluate(mteb_run)
    assert scores["map_at_1000"] == pytest.approx(
        np.mean([m["map"] for m in measures.values()]), abs=5e-6)
    assert scores["map_at_1000"] > 0.2  # lexical overlap beats the 1-in-100 chance level (~0.05)

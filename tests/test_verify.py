"""Submitted scores recomputed with pytrec_eval and scipy, checked against mteb's own values."""

from __future__ import annotations

import math
import random
import sys
from types import SimpleNamespace

import pytest

from medteb.results.verify import ranking_score, recompute_main_score, sts_score


def test_ranking_scores_by_hand() -> None:
    # q1 ranks d2 (irrelevant), d1 (relevant, grade 2), d3 (relevant, grade 1); trec_eval's
    # nDCG (as mteb's) gains the grade itself, not 2**grade - 1.
    qrels = {"q1": {"d1": 2, "d3": 1}, "q2": {"d9": 1}, "q3": {}}
    results = {"q1": {"d1": 0.8, "d2": 0.9, "d3": 0.1}, "q2": {"d9": 1.0}, "q3": {"d1": 1.0}}
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    # q3 has no judgement: left out; q2 is perfect
    assert ranking_score("ndcg_at_10", qrels, results) == round((dcg / ideal + 1) / 2, 5)
    ap_q1 = (1 / 2 + 2 / 3) / 2
    assert ranking_score("map_at_1000", qrels, results) == round((ap_q1 + 1) / 2, 5)
    assert ranking_score("recall_at_1", qrels, results) == 0.5  # q1 0, q2 1
    # skipping each query's first result: q1 starts at d1, q2 has nothing left
    assert ranking_score("ndcg_at_10", qrels, results, skip_first_result=True) == round(
        ((2 + 1 / math.log2(3)) / ideal + 0) / 2, 5)


@pytest.mark.parametrize(("metric", "message"), [
    ("mrr_at_10", "cannot recompute the ranking score 'mrr_at_10'"),
    ("ndcg_at_x", "cannot recompute the ranking score 'ndcg_at_x'"),
])
def test_unknown_ranking_score(metric: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ranking_score(metric, {"q": {"d": 1}}, {"q": {"d": 1.0}})


def test_no_judged_query() -> None:
    with pytest.raises(ValueError, match="no query of the predictions has relevance judgements"):
        ranking_score("ndcg_at_10", {"q": {"d": 1}}, {"other": {"d": 1.0}})


@pytest.mark.parametrize("skip_first", [False, True])
def test_ranking_scores_equal_mteb(skip_first: bool) -> None:
    """Random runs with graded qrels, ties, unjudged and missing queries: the same numbers as
    mteb's retrieval evaluator."""
    from mteb._evaluators.retrieval_metrics import calculate_retrieval_scores

    rng = random.Random(0)
    docs = [f"d{i}" for i in range(40)]
    qrels = {f"q{i}": {d: rng.choice([0, 1, 1, 2]) for d in rng.sample(docs, rng.randint(0, 5))}
             for i in range(30)}
    judged = {q: d for q, d in qrels.items() if d}  # mteb drops queries without judgements
    results = {q: {d: round(rng.random(), 1) for d in rng.sample(docs, 25)}  # with ties
               for q in sorted(judged)[:-3]}  # the last three judged but not retrieved
    ours = {m: ranking_score(m, qrels, results, skip_first)
            for m in ("ndcg_at_10", "map_at_1000", "recall_at_10", "precision_at_10")}
    theirs = calculate_retrieval_scores(results, judged, [10, 1000], skip_first)
    assert ours == {"ndcg_at_10": theirs.ndcg["NDCG@10"], "map_at_1000": theirs.map["MAP@1000"],
                    "recall_at_10": theirs.recall["Recall@10"],
                    "precision_at_10": theirs.precision["P@10"]}


def test_sts_scores_equal_mteb() -> None:
    from medteb.benchmark.tasks import get_task

    task = get_task("MedTEB-STS", data_dir="sample")
    rng = random.Random(1)
    raw = [float(rng.choice([0, 1])) for _ in range(50)]
    cosine = [rng.uniform(-1, 1) + 0.5 * g for g in raw]
    gold = [task._normalize(g) for g in raw]
    theirs = task._calculate_scores({"cosine_scores": cosine, "manhattan_distances": cosine,
                                     "euclidean_distances": cosine,
                                     "similarity_scores": None}, gold)
    assert sts_score("cosine_pearson", gold, cosine) == pytest.approx(theirs["cosine_pearson"],
                                                                      abs=1e-12)
    assert sts_score("cosine_spearman", gold, cosine) == pytest.approx(
        theirs["cosine_spearman"], abs=1e-12)
    with pytest.raises(ValueError, match="3 predicted similarities for 50 pairs"):
        sts_score("cosine_pearson", gold, cosine[:3])
    with pytest.raises(ValueError, match="cannot recompute the STS score 'euclidean_pearson'"):
        sts_score("euclidean_pearson", gold, cosine)


def test_recompute_uses_no_mteb_evaluator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recomputation runs with mteb's evaluator modules made unimportable."""
    for name in [m for m in sys.modules if m.startswith("mteb._evaluators")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mteb._evaluators", None)
    retrieval = SimpleNamespace(
        metadata=SimpleNamespace(type="Retrieval", main_score="ndcg_at_10"),
        ignore_identical_ids=True, skip_first_result=False,
        dataset={"default": {"test": {"relevant_docs": {"q1": {"d1": 1}}}}})
    # the query's own id is ignored, so d1 ranks first
    saved = {"default": {"test": {"q1": {"q1": 0.99, "d1": 0.5, "d2": 0.1}}}}
    assert recompute_main_score(retrieval, saved) == 1.0
    sts = SimpleNamespace(metadata=SimpleNamespace(type="STS", main_score="cosine_pearson"),
                          min_score=0, max_score=1,
                          dataset={"default": {"test": {"score": [0, 1, 1]}}})
    saved = {"default": {"test": {"cosine_scores": [0.1, 0.8, 0.9]}}}
    assert recompute_main_score(sts, saved) == pytest.approx(0.99339927, abs=1e-6)

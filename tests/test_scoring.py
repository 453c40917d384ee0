"""``medteb score P --labels DIR``: predictions scored on a label folder kept apart."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

import pytest

from medteb.cli import main
from medteb.results.scoring import ScoringError, prediction_files, score_predictions
from tests.conftest import ROOT, write_jsonl, write_qrels

OWNER = {"model_name": "org/m", "revision": "r1"}


def _labels(root: Path) -> Path:
    """Retrieval: q1 judges d1 (2) and d3 (1), q2 judges d2; STS: four pairs."""
    task = root / "MedTEB-Retrieval"
    write_jsonl(task / "corpus.jsonl", [{"_id": f"d{i}", "text": f"文档{i}"} for i in (1, 2, 3, 4)])
    write_jsonl(task / "queries.jsonl", [{"_id": "q1", "text": "问题一"},
                                         {"_id": "q2", "text": "问题二"}])
    write_qrels(task / "qrels" / "test.tsv", [("q1", "d1", 2), ("q1", "d3", 1), ("q2", "d2", 1)])
    write_jsonl(root / "MedTEB-STS" / "sts" / "test.jsonl", [
        {"sentence1": f"句子{i}", "sentence2": f"句子{i}", "score": s}
        for i, s in enumerate((0, 1, 1, 0))])
    return root


def _predict(folder: Path, task: str, predictions: object, owner: dict = OWNER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{task}_predictions.json"
    path.write_text(json.dumps({"mteb_model_meta": owner, "default": {"test": predictions}}))
    return path


RANKING = {"q1": {"d2": 0.9, "d1": 0.8, "d3": 0.1}, "q2": {"d2": 0.5, "d4": 0.4}}
COSINES = {"cosine_scores": [0.1, 0.9, 0.6, 0.3]}


def test_scores_by_hand(tmp_path: Path) -> None:
    labels = _labels(tmp_path / "labels")
    preds = tmp_path / "preds" / "org__m" / "r1"
    _predict(preds, "MedTEB-Retrieval", RANKING)
    _predict(preds, "MedTEB-STS", COSINES)
    report = score_predictions(tmp_path / "preds", labels)
    scores = {s.task: s.main_score for s in report.scores}
    # q1: d2 (0), d1 (gain 2), d3 (gain 1); the ideal ranking d1, d3. q2 is perfect.
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    ideal = 2 + 1 / math.log2(3)
    assert scores["MedTEB-Retrieval"] == round((dcg / ideal + 1) / 2, 5)
    # Pearson of gold (0, 1, 1, 0) and (0.1, 0.9, 0.6, 0.3): means 0.5 and 0.475
    gold, cos = (0, 1, 1, 0), COSINES["cosine_scores"]
    cov = sum((g - 0.5) * (c - 0.475) for g, c in zip(gold, cos, strict=True))
    var_c = sum((c - 0.475) ** 2 for c in cos)
    assert scores["MedTEB-STS"] == pytest.approx(cov / math.sqrt(1.0 * var_c), abs=1e-12)
    assert (report.model_name, report.model_revision) == ("org/m", "r1")
    assert report.to_dict()["tasks"]["MedTEB-STS"]["main_score"] == scores["MedTEB-STS"]
    assert "| MedTEB-Retrieval | ndcg_at_10 |" in report.to_markdown()

    # the same predictions on other labels score otherwise: the labels are really read
    write_qrels(labels / "MedTEB-Retrieval" / "qrels" / "test.tsv",
                [("q1", "d2", 1), ("q2", "d2", 1)])
    other = score_predictions(preds, labels, ["MedTEB-Retrieval"])
    assert [s.main_score for s in other.scores] == [1.0]


def test_cli_json_equals_the_runs_own_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    labels = tmp_path / "labels"
    for task in ("MedTEB-Rerank", "MedTEB-STS"):
        shutil.copytree(ROOT / "tasks" / task / "sample", labels / task)
    assert main(["run", "-m", "bm25-zh", "--data-dir", str(labels), "-t", "MedTEB-Rerank",
                 "MedTEB-STS", "--prediction-folder", "preds", "-v", "0"]) == 0
    capsys.readouterr()
    assert main(["score", "preds", "--labels", str(labels), "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    for task, value in printed["tasks"].items():
        (result,) = (tmp_path / "runs").glob(f"*/*/{task}.json")
        claimed = json.loads(result.read_text())["scores"]["test"][0]["main_score"]
        assert value["main_score"] == pytest.approx(claimed, abs=1e-4)
    assert sorted(printed["tasks"]) == ["MedTEB-Rerank", "MedTEB-STS"]
    assert printed["model"] == "medteb/bm25-zh"


@pytest.mark.parametrize(("task", "predictions", "message"), [
    ("MedTEB-Retrieval", {"q1": RANKING["q1"]},
     r"1 of 2 judged queries have no ranking \(e\.g\. q2\)"),
    ("MedTEB-Retrieval", {**RANKING, "q2": {"d9": 1.0}},
     r"1 document ids are not in the labels' corpus \(e\.g\. d9\)"),
    ("MedTEB-Retrieval", {**RANKING, "q2": {"d2": float("nan")}},
     r"non-finite scores in the rankings of 1 queries \(e\.g\. q2\)"),
    ("MedTEB-STS", {"cosine_scores": [0.1, 0.2]}, "2 similarities for the 4 sentence pairs"),
    ("MedTEB-STS", {"cosine_scores": [0.1, None, 0.3, 0.4]}, "similarity 1 is not a finite"),
    ("MedTEB-STS", {"cosine_scores": [0.5, 0.5, 0.5, 0.5]}, "the main score is undefined"),
    ("MedTEB-STS", {}, "no cosine_scores list"),
])
def test_unfair_or_broken_predictions(tmp_path: Path, task: str, predictions: dict,
                                      message: str) -> None:
    labels = _labels(tmp_path / "labels")
    _predict(tmp_path / "preds", task, predictions)
    with warnings.catch_warnings():  # scipy warns of constant input before returning nan
        warnings.simplefilter("ignore")
        with pytest.raises(ScoringError, match=message):
            score_predictions(tmp_path / "preds", labels)


def test_every_problem_listed_at_once(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    labels = _labels(tmp_path / "labels")
    _predict(tmp_path / "preds", "MedTEB-Retrieval", {"q1": RANKING["q1"]})
    _predict(tmp_path / "preds", "MedTEB-STS", {"cosine_scores": [1.0]},
             owner={"model_name": "org/other", "revision": "r2"})
    (tmp_path / "preds" / "MedTEB-Rerank_predictions.json").write_text("{")
    assert main(["score", str(tmp_path / "preds"), "--labels", str(labels),
                 "-t", "MedTEB-Retrieval", "MedTEB-STS", "MedTEB-Rerank", "CMedQAv1-reranking"]
                ) == 1
    err = capsys.readouterr().err
    assert "5 problem(s); nothing was scored" in err
    for line in ("CMedQAv1-reranking: not one of MedTEB's own tasks (MedTEB-Retrieval, "
                 "MedTEB-Rerank, MedTEB-STS), whose labels a data folder holds",
                 "MedTEB-Rerank_predictions.json: not readable JSON",
                 "1 of 2 judged queries have no ranking", "1 similarities for the 4",
                 "predictions of several models: org/m revision r1, org/other revision r2"):
        assert line in err


def test_missing_labels(tmp_path: Path) -> None:
    _predict(tmp_path / "preds", "MedTEB-Rerank", RANKING)
    with pytest.raises(ScoringError, match="MedTEB-Rerank: labels cannot be read: "):
        score_predictions(tmp_path / "preds", _labels(tmp_path / "labels"))


def test_prediction_folder_shapes(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match="not a folder"):
        prediction_files(tmp_path / "absent")
    with pytest.raises(ScoringError, match=r"no \*_predictions.json here"):
        prediction_files(tmp_path)
    _predict(tmp_path / "org__m" / "r1", "MedTEB-STS", COSINES)
    assert list(prediction_files(tmp_path)) == ["MedTEB-STS"]
    _predict(tmp_path / "org__m" / "r2", "MedTEB-STS", COSINES)
    with pytest.raises(ScoringError, match="several model revisions; give one of: "
                                           "org__m/r1, org__m/r2"):
        prediction_files(tmp_path)
    assert list(prediction_files(tmp_path / "org__m" / "r2")) == ["MedTEB-STS"]
    with pytest.raises(ScoringError, match="several model revisions; give one of: r1, r2"):
        prediction_files(tmp_path / "org__m")  # a model's folder
    shutil.rmtree(tmp_path / "org__m" / "r1")
    assert prediction_files(tmp_path / "org__m") == prediction_files(tmp_path / "org__m" / "r2")

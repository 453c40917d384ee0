"""Hidden labels: data without labels yields predictions (exit 3), scored later on the labels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medteb.benchmark.data.formats import read_retrieval, read_sts
from medteb.cli import main
from medteb.errors import DataValidationError
from tests.conftest import ROOT, write_jsonl

TASKS = ("MedTEB-Rerank", "MedTEB-Retrieval", "MedTEB-STS")


def _public_and_labels(root: Path) -> tuple[Path, Path]:
    """The bundled sample as labels, and the same data with every label removed."""
    labels, public = root / "labels", root / "public"
    for task in TASKS:
        shutil.copytree(ROOT / "tasks" / task / "sample", labels / task)
        shutil.copytree(ROOT / "tasks" / task / "sample", public / task)
    for task in ("MedTEB-Rerank", "MedTEB-Retrieval"):
        shutil.rmtree(public / task / "qrels")
    sts = public / "MedTEB-STS" / "sts" / "test.jsonl"
    rows = [json.loads(line) for line in sts.read_text(encoding="utf-8").splitlines()]
    write_jsonl(sts, [{k: v for k, v in r.items() if k != "score"} for r in rows])
    return public, labels


def test_readers_accept_data_without_labels(tmp_path: Path) -> None:
    public, labels = _public_and_labels(tmp_path)
    full = read_retrieval(labels / "MedTEB-Rerank", "test", reranking=True)
    bare = read_retrieval(public / "MedTEB-Rerank", "test", reranking=True)
    assert (full.labelled, bare.labelled) == (True, False)
    assert bare.relevant_docs == {} and full.relevant_docs
    assert [q["id"] for q in bare.queries] == [q["id"] for q in full.queries]
    assert bare.top_ranked == full.top_ranked and bare.revision != full.revision
    sts = read_sts(public / "MedTEB-STS", "test", (0, 1))
    assert not sts.labelled and "score" not in sts.rows[0]
    assert len(sts.rows) == len(read_sts(labels / "MedTEB-STS", "test", (0, 1)).rows)


def test_label_free_data_is_still_validated(tmp_path: Path) -> None:
    public, _ = _public_and_labels(tmp_path)
    candidates = public / "MedTEB-Rerank" / "top_ranked" / "test.jsonl"
    lines = candidates.read_text(encoding="utf-8").splitlines()
    candidates.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    first = json.loads(lines[0])["query-id"]
    with pytest.raises(DataValidationError,
                       match=f'query "{first}": has no candidate list in top_ranked/test.jsonl'):
        read_retrieval(public / "MedTEB-Rerank", "test", reranking=True)
    sts = public / "MedTEB-STS" / "sts" / "test.jsonl"
    write_jsonl(sts, [{"sentence1": "甲", "sentence2": "乙", "score": 1},
                      {"sentence1": "丙", "sentence2": "丁"}])  # half labelled: a mistake
    with pytest.raises(DataValidationError, match='line 2: missing "score"'):
        read_sts(public / "MedTEB-STS", "test", (0, 1))


def test_run_without_prediction_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    public, _ = _public_and_labels(tmp_path)
    assert main(["run", "-m", "bm25-zh", "--data-dir", str(public), "-t", "MedTEB-STS",
                 "-v", "0"]) == 2
    err = capsys.readouterr().err
    assert "MedTEB-STS: the data has no labels (a hidden-label release)" in err
    assert "pass --prediction-folder DIR" in err
    assert not list(tmp_path.glob("runs/*/*/*"))


def test_predictions_on_public_data_score_as_on_the_labels(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    public, labels = _public_and_labels(tmp_path)
    argv = ["run", "-m", "bm25-zh", "-t", *TASKS, "-v", "0"]
    assert main([*argv, "--data-dir", str(public), "--prediction-folder", "preds"]) == 3
    out = capsys.readouterr().out
    assert out.count("| not scored | no labels in this data") == 3
    assert "Not scored (no labels in the data): MedTEB-Rerank, MedTEB-Retrieval, MedTEB-STS; " \
           "exit status 3" in out
    assert "Results written" not in out
    assert not list(tmp_path.glob("runs/*/*/*.json"))  # no score, not even a placeholder's
    assert len(list(tmp_path.glob("preds/*/*/*_predictions.json"))) == 3
    from medteb.results.manifest import read_manifest

    (folder,) = tmp_path.glob("preds/*/*")
    manifest = read_manifest(folder)  # how the predictions were made, beside them
    assert sorted(manifest.tasks) == sorted(TASKS)
    assert all(t.score is None and t.data_revision.startswith("local-")
               for t in manifest.tasks.values())

    assert main(["score", "preds", "--labels", str(labels), "--format", "json"]) == 0
    scored = json.loads(capsys.readouterr().out)["tasks"]
    assert main([*argv, "--data-dir", str(labels), "--output-folder", "full"]) == 0
    for task in TASKS:
        (result,) = tmp_path.glob(f"full/*/*/{task}.json")
        claimed = json.loads(result.read_text())["scores"]["test"][0]["main_score"]
        assert scored[task]["main_score"] == pytest.approx(claimed, abs=1e-4), task
    # the public data cannot stand in for the labels: scoring on it is refused
    assert main(["score", "preds", "--labels", str(public)]) == 1
    err = capsys.readouterr().err
    assert f"MedTEB-Rerank: the data in {public} has no labels (the public part" in err
    assert "3 problem(s)" in err


def test_the_task_keeps_no_placeholder_label(tmp_path: Path) -> None:
    from medteb.benchmark.tasks import get_task
    from medteb.evaluation.hidden_labels import PLACEHOLDER_ID, predict_only
    from medteb.models import load_model

    public, _ = _public_and_labels(tmp_path)
    model = load_model("bm25-zh", None, None)
    for name in ("MedTEB-Rerank", "MedTEB-STS"):
        task = get_task(name, data_dir=public)
        task.load_data()
        assert task.labelled is False
        outcome = predict_only(model, task, tmp_path / "preds", {}, False)
        assert outcome["predictions_only"] and "nothing scored" in outcome["skipped"]
        split = task.dataset["default"]["test"]
        if name == "MedTEB-STS":
            assert "score" not in split.column_names
        else:
            assert split["relevant_docs"] == {}
            saved = json.loads((tmp_path / "preds" / task.prediction_file_name).read_text())
            assert not any(PLACEHOLDER_ID in docs for docs in saved["default"]["test"].values())


MARK = "2718281828"  # in every planted STS gold value; no other number here holds it


def test_no_written_file_holds_a_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    """What a participant hands in (predictions, run_manifest.yaml) and what scoring prints
    carry no label: distinctive STS gold values are planted in the labels and grepped for."""
    monkeypatch.chdir(tmp_path)
    public, labels = _public_and_labels(tmp_path)
    gold = labels / "MedTEB-STS" / "sts" / "test.jsonl"
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    planted = [float(f"0.{i % 9 + 1}{MARK}") for i in range(len(rows))]
    write_jsonl(gold, [{**r, "score": v} for r, v in zip(rows, planted, strict=True)])
    assert sum(MARK in p.read_text(encoding="utf-8")
               for p in labels.rglob("*") if p.is_file()) == 1  # the grep can find a label
    assert main(["run", "-m", "bm25-zh", "-t", "MedTEB-STS", "-v", "0", "--data-dir",
                 str(public), "--prediction-folder", "preds"]) == 3
    ran = capsys.readouterr()
    _, original = _public_and_labels(tmp_path / "original")
    scores = []
    for folder in (labels, original):
        assert main(["score", "preds", "--labels", str(folder), "--format", "json"]) == 0
        printed = capsys.readouterr()
        scores.append(json.loads(printed.out)["tasks"]["MedTEB-STS"]["main_score"])
        assert MARK not in printed.out + printed.err
    assert scores[0] != pytest.approx(scores[1])  # scored on the planted labels
    written = [p for p in (tmp_path / "preds").rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"MedTEB-STS_predictions.json", "run_manifest.yaml"}
    leaks = [str(p) for p in written if MARK in p.read_text(encoding="utf-8")]
    assert leaks == [] and MARK not in ran.out + ran.err

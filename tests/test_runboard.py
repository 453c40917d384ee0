"""A private board of one's own runs: `medteb leaderboard --results RUNS [--predictions P]`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from medteb.cli import main
from medteb.errors import ResultsError
from medteb.results.runboard import run_entries

TASKS = ["MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path) -> Path:
    """bm25-zh and a tiny BERT on the bundled sample: ``runs/`` and ``preds/``."""
    tmp = tmp_path_factory.mktemp("own-runs")
    for model in ("bm25-zh", str(tiny_bert)):
        assert main(["run", "-m", model, "--data-dir", "sample", "-t", *TASKS, "-v", "0",
                     "--output-folder", str(tmp / "runs"), "--prediction-folder",
                     str(tmp / "preds")]) == 0
    return tmp


def _rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if "(not submitted)" in line
            and line.startswith("|")]


def _cells(row: str, *columns: str) -> list[str]:
    """The row's cells of the Sample board's score columns (Retrieval, Rerank, STS, ...)."""
    header = "| Rank | Model | Params (Q/D) | CMedQA-v1 | CMedQA-v2 | Retrieval | Rerank | STS |"
    names = [c.strip() for c in header.split("|")]
    cells = row.split("|")
    return [cells[names.index(c)].strip() for c in columns]


def test_board_of_own_runs_with_intervals(two_runs: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "board.md"
    assert main(["leaderboard", "--results", str(two_runs / "runs"), "--predictions",
                 str(two_runs / "preds"), "--output", str(out), "--no-figure"]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# MedTEB leaderboard: your runs (not submitted)\n")
    rows = _rows(text)
    assert len(rows) == 2  # both runs, on the Sample board
    assert any("bm25-zh (not submitted)" in r for r in rows)
    assert any("tiny-bert-zh (not submitted)" in r for r in rows)
    for row in rows:  # each score with its 95% interval; no CMedQA on the sample
        retrieval, rerank, sts, cmedqa = _cells(row, "Retrieval", "Rerank", "STS", "CMedQA-v1")
        assert all(re.fullmatch(r"(\*\*|<u>)?-?\d+\.\d\d \[-?\d+\.\d\d, -?\d+\.\d\d\]"
                                r"(\*\*|</u>)?", c) for c in (retrieval, rerank, sts)), row
        assert cmedqa == "–"
    sample = text.split("## ")[-1]
    assert sample.startswith("Sample (smoke test, not the benchmark)")
    assert all(row in sample for row in rows)  # labelled as sample: on the Sample board
    assert "Rank 95%" in sample and "No entry here has per-query data" not in sample
    assert "not submitted: computed with `medteb run`" in text
    # the same intervals through the library: per-query scores were computed for every task
    entries, notes = run_entries(two_runs / "runs", two_runs / "preds")
    assert notes == [] and [sorted(e.per_query) for e in entries] == [sorted(TASKS)] * 2
    assert {e.setting for e in entries} == {"sample"}

    site = tmp_path / "site"
    assert main(["leaderboard", "--results", str(two_runs / "runs"), "--predictions",
                 str(two_runs / "preds"), "--html", str(site)]) == 0
    page = (site / "index.html").read_text(encoding="utf-8")
    assert "<h1>MedTEB leaderboard: your runs (not submitted)</h1>" in page
    assert page.count("(not submitted)") >= 3
    data = json.loads((site / "leaderboard.json").read_text(encoding="utf-8"))
    assert "not submitted" in json.dumps(data, ensure_ascii=False)


def test_board_of_own_runs_without_predictions(two_runs: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    shutil.copytree(two_runs / "runs", runs)
    assert main(["leaderboard", "--results", str(runs), "--no-figure"]) == 0
    text = (runs / "leaderboard.md").read_text(encoding="utf-8")  # next to the runs
    assert len(_rows(text)) == 2
    assert "No entry here has per-query data" in text
    for row in _rows(text):  # scores, without intervals
        assert all(re.fullmatch(r"(\*\*|<u>)?-?\d+\.\d\d(\*\*|</u>)?", c)
                   for c in _cells(row, "Retrieval", "Rerank", "STS")), row
    # one run's predictions missing: it is shown without intervals, and said so
    preds = tmp_path / "preds"
    shutil.copytree(two_runs / "preds" / "medteb__bm25-zh", preds / "medteb__bm25-zh")
    entries, notes = run_entries(runs, preds)
    assert {e.model_name: bool(e.per_query) for e in entries} == {
        "medteb/bm25-zh": True, "local/tiny-bert-zh": False}
    assert len(notes) == 1 and notes[0].startswith("local__tiny-bert-zh/")
    assert notes[0].endswith("(shown without intervals)")
    assert main(["leaderboard", "--results", str(runs), "--predictions", str(preds),
                 "--no-figure"]) == 0
    text = (runs / "leaderboard.md").read_text(encoding="utf-8")
    assert "1 of 2 entries have no per-query data" in text
    assert {r.split("|")[2].strip(): "[" in _cells(r, "STS")[0] for r in _rows(text)} == {
        "medteb/bm25-zh (not submitted)": True, "local/tiny-bert-zh (not submitted)": False}


def test_run_board_errors(two_runs: Path, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match=r"empty: no run here \(a `medteb run "
                                           r"--output-folder`"):
        run_entries(tmp_path / "empty")
    assert main(["leaderboard", "--results", str(tmp_path / "empty"), "--predictions",
                 str(two_runs / "preds")]) == 2
    assert "no run here" in capsys.readouterr().err
    # predictions that do not give the run's recorded score
    preds = tmp_path / "preds"
    shutil.copytree(two_runs / "preds", preds)
    (bm25,) = (preds / "medteb__bm25-zh").iterdir()
    file = bm25 / "MedTEB-STS_predictions.json"
    saved = json.loads(file.read_text(encoding="utf-8"))
    split = saved["default"]["test"]
    split["cosine_scores"] = [-x for x in split["cosine_scores"]]
    file.write_text(json.dumps(saved), encoding="utf-8")
    with pytest.raises(ResultsError, match=r"medteb__bm25-zh/.*: MedTEB-STS predictions give "
                                           r"-?\d\.\d{6}, but MedTEB-STS.json says"):
        run_entries(two_runs / "runs", preds)


def test_a_run_off_the_sample_goes_on_the_zero_shot_board(two_runs: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    shutil.copytree(two_runs / "runs" / "medteb__bm25-zh", runs / "medteb__bm25-zh")
    for file in runs.glob("*/*/MedTEB-*.json"):
        result = json.loads(file.read_text(encoding="utf-8"))
        result["dataset_revision"] = "local-0abc"  # as a run on local data records it
        file.write_text(json.dumps(result), encoding="utf-8")
    (entry,), notes = run_entries(runs)
    assert entry.setting == "zero-shot" and notes == []
    assert entry.submission.source.endswith("; no setting declared, shown as zero-shot")
    assert main(["leaderboard", "--results", str(runs), "--no-figure"]) == 0
    zero_shot = (runs / "leaderboard.md").read_text(encoding="utf-8").split("## ")[1]
    assert zero_shot.startswith("Zero-shot") and "| medteb/bm25-zh (not submitted) |" in zero_shot


def test_unreadable_predictions(two_runs: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", "--results", str(tmp_path / "nowhere"), "--predictions",
                 str(two_runs / "preds")]) == 2
    assert "results folder " in capsys.readouterr().err
    preds = tmp_path / "preds"
    shutil.copytree(two_runs / "preds", preds)
    (bm25,) = (preds / "medteb__bm25-zh").iterdir()
    (bm25 / "MedTEB-STS_predictions.json").write_text("{", encoding="utf-8")
    with pytest.raises(ResultsError, match=r"^medteb__bm25-zh/.*: .*MedTEB-STS_predictions.json: "
                                           r"unreadable predictions"):
        run_entries(two_runs / "runs", preds)

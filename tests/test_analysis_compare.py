"""Per-query scores from real runs' predictions, their file, and `medteb compare` end to end."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from medteb.analysis.perquery import from_predictions, read_per_query, write_per_query
from medteb.analysis.runs import load_run
from medteb.cli import main
from medteb.errors import AnalysisError

BM25_SAMPLE = "bm25s-0.3.16_jieba-0.42.1_k1-1.5_b-0.75-sample"


def _run(tmp: Path, data_dir: str, tasks: list[str]) -> tuple[Path, Path]:
    """bm25-zh on ``data_dir``: (its revision's results folder, its predictions folder)."""
    assert main(["run", "-m", "bm25-zh", "--data-dir", data_dir, "-t", *tasks, "-v", "0",
                 "--output-folder", str(tmp / "runs"), "--prediction-folder",
                 str(tmp / "preds")]) == 0
    (results,) = (tmp / "runs" / "medteb__bm25-zh").iterdir()
    return results, tmp / "preds" / "medteb__bm25-zh" / results.name


def _perturbed(preds: Path, out: Path, seed: int = 0) -> Path:
    """A second run: the same predictions with noise, under another revision."""
    rng = random.Random(seed)
    out.mkdir(parents=True)
    for file in preds.glob("*_predictions.json"):
        saved = json.loads(file.read_text(encoding="utf-8"))
        saved["mteb_model_meta"]["revision"] = "noisy-sample"
        split = saved["default"]["test"]
        if "cosine_scores" in split:
            split["cosine_scores"] = [x + rng.gauss(0, 0.3) for x in split["cosine_scores"]]
        else:
            for docs in split.values():
                for doc in docs:
                    docs[doc] *= rng.uniform(0.5, 1.5)
        (out / file.name).write_text(json.dumps(saved), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("sample-runs")
    results, preds = _run(tmp, "sample", ["MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"])
    return results, preds, _perturbed(preds, tmp / "noisy")


def _stored_score(results: Path, task: str) -> float:
    from mteb.results import TaskResult

    return float(TaskResult.from_disk(results / f"{task}.json").get_score(splits=["test"]))


def _assert_main_scores(results: Path, preds: Path, data_dir: str | None) -> None:
    run = load_run(preds, data_dir)
    assert run.scores
    for task, per_query in run.scores.items():
        stored = _stored_score(results, task)
        # mteb stores ranking scores rounded to 5 decimals (equal to 1e-6 after that rounding),
        # STS scores to 6
        if per_query.kind == "mean":  # the mean of the per-query values is the main score
            assert round(float(np.mean(per_query.values)), 5) == pytest.approx(stored, abs=1e-6)
            assert round(per_query.score, 5) == pytest.approx(stored, abs=1e-6), task
        else:
            assert per_query.score == pytest.approx(stored, abs=1e-6), task


def test_per_query_means_are_the_main_scores(sample_runs: tuple[Path, Path, Path]) -> None:
    results, preds, noisy = sample_runs
    _assert_main_scores(results, preds, None)
    with pytest.raises(AssertionError):  # the check can fail: another run's scores
        _assert_main_scores(results, noisy, "sample")


def test_per_query_means_on_real_data(shared_data: Path, cepilepsy_dirs: Path,
                                      chip_sts_dir: Path, tmp_path: Path) -> None:
    """cEpilepsyQA reranking (490 queries x 100 candidates) and CHIP-STS dev (4,000 pairs)."""
    results, preds = _run(tmp_path / "rerank", str(cepilepsy_dirs), ["MedTEB-Rerank"])
    _assert_main_scores(results, preds, str(cepilepsy_dirs))
    assert len(load_run(preds, str(cepilepsy_dirs)).scores["MedTEB-Rerank"].ids) == 490
    results, preds = _run(tmp_path / "sts", str(chip_sts_dir), ["MedTEB-STS"])
    _assert_main_scores(results, preds, str(chip_sts_dir))


def test_per_query_file(sample_runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, preds, _ = sample_runs
    run = load_run(preds)
    for task, per_query in run.scores.items():
        path = tmp_path / f"{task}.per_query.jsonl"
        write_per_query(path, per_query)
        back = read_per_query(path)
        assert back.ids == per_query.ids and back.data_revision == per_query.data_revision
        assert back.score == pytest.approx(per_query.score, abs=1e-6)
    # the paper's sizes: 1,128 queries, 5,000 pairs, well under 1 MB each
    big = run.scores["MedTEB-Retrieval"].__class__(
        task="T", metric="ndcg_at_10", data_revision="r", model="m", model_revision="v",
        ids=tuple(f"query-{i:05d}" for i in range(1128)),
        values=np.random.default_rng(0).uniform(0, 1, 1128))
    sts = big.__class__(task="S", metric="cosine_pearson", data_revision="r", model="m",
                        model_revision="v", ids=tuple(str(i) for i in range(5000)),
                        values=np.random.default_rng(0).uniform(-1, 1, 5000),
                        gold=np.random.default_rng(1).uniform(0, 1, 5000))
    assert len(big.to_json()) < 40_000 and len(sts.to_json()) < 200_000
    # a folder of per-query files is a run too
    folder = tmp_path / "pq"
    folder.mkdir()
    for per_query in run.scores.values():
        write_per_query(folder / f"{per_query.task}.per_query.jsonl", per_query)
    assert set(load_run(folder).scores) == set(run.scores)


@pytest.mark.parametrize(("body", "message"), [
    ('{"format": "other"}', "not a readable per-query file \\(format"),
    ('{"format": "medteb-per-query/1", "task": "T", "metric": "m", "data_revision": "r", '
     '"model": "m", "model_revision": "v", "ids": ["a", "b"], "values": [0.5, NaN]}',
     "not a readable per-query file \\(values.1"),
    ('{"format": "medteb-per-query/1", "task": "T", "metric": "m", "data_revision": "r", '
     '"model": "m", "model_revision": "v", "ids": ["a", "b"], "values": [0.5]}',
     "1 values for 2 queries"),
    ('{"format": "medteb-per-query/1", "task": "T", "metric": "m", "data_revision": "r", '
     '"model": "m", "model_revision": "v", "ids": null, "values": [0.5]}',
     "give 'ids' \\(ranking task\\) or 'gold' \\(STS\\)"),
])
def test_bad_per_query_files(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "T.per_query.jsonl"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(AnalysisError, match=message):
        read_per_query(path)


def test_non_finite_predictions(sample_runs: tuple[Path, Path, Path]) -> None:
    from medteb.benchmark.tasks import get_task

    _, preds, _ = sample_runs
    saved = json.loads((preds / "MedTEB-STS_predictions.json").read_text(encoding="utf-8"))
    saved["default"]["test"]["cosine_scores"][3] = float("nan")
    task = get_task("MedTEB-STS", data_dir="sample")
    task.load_data()
    with pytest.raises(AnalysisError, match="1 non-finite per-query values of MedTEB-STS"):
        from_predictions(task, saved)
    saved["default"]["test"]["cosine_scores"] = saved["default"]["test"]["cosine_scores"][:5]
    with pytest.raises(AnalysisError, match="MedTEB-STS: cannot score the predictions: 5 "
                                            "predicted similarities for 45 pairs"):
        from_predictions(task, saved)


def test_compare_json(sample_runs: tuple[Path, Path, Path],
                      capsys: pytest.CaptureFixture[str]) -> None:
    _, preds, noisy = sample_runs
    assert main(["compare", str(preds), str(noisy), "--resamples", "2000",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"tasks"}
    assert set(out["tasks"]) == {"MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"}
    for row in out["tasks"].values():
        assert set(row) == {"a", "b", "delta", "ci", "p_value", "p_holm", "wins", "ties",
                            "losses", "n"}
        assert row["delta"] == pytest.approx(row["a"] - row["b"])
        assert row["ci"][0] <= row["delta"] <= row["ci"][1]
        assert row["wins"] + row["ties"] + row["losses"] == row["n"]
        assert row["p_value"] <= row["p_holm"] <= 1
    assert out["tasks"]["MedTEB-Retrieval"]["a"] == pytest.approx(0.79089, abs=1e-5)
    assert out["tasks"]["MedTEB-Retrieval"]["n"] == 40
    # identical runs: p = 1, the interval is [0, 0], every query a tie
    assert main(["compare", str(preds), str(preds), "--resamples", "500",
                 "--format", "json"]) == 0
    same = json.loads(capsys.readouterr().out)["tasks"]
    assert all(r["p_value"] == 1 and r["ci"] == [0, 0] and r["ties"] == r["n"]
               for r in same.values())
    # same seed, same output; three runs give every pair
    assert main(["compare", str(preds), str(noisy), str(preds), "--resamples", "500",
                 "--format", "json", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert main(["compare", str(preds), str(noisy), str(preds), "--resamples", "500",
                 "--format", "json", "--seed", "3"]) == 0
    assert capsys.readouterr().out == first
    pairs = json.loads(first)["pairs"]
    assert len(pairs) == 3
    assert f"medteb/bm25-zh@{BM25_SAMPLE} vs medteb/bm25-zh@noisy-sample" in pairs


def test_compare_table_and_html(sample_runs: tuple[Path, Path, Path], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    _, preds, noisy = sample_runs
    assert main(["compare", str(preds.parent.parent), str(noisy), "--resamples", "300"]) == 0
    table = capsys.readouterr().out
    assert "| MedTEB-Retrieval | 79.09 |" in table
    assert "queries where a and b differ most" in table
    # each run's scores with CIs and rank intervals, the complete average included
    assert "| Run | MedTEB-Rerank | MedTEB-Retrieval | MedTEB-STS | New-task avg |" in table
    assert "| medteb/bm25-zh@noisy-sample | " in table and "rank 1–2*" in table
    assert main(["compare", str(preds), str(noisy), "--resamples", "300", "--format",
                 "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!doctype html>") and "<td>MedTEB-STS</td>" in page
    # a task only one run has is named, not silently left out
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(noisy / "MedTEB-Rerank_predictions.json", partial)
    assert main(["compare", str(preds), str(partial), "--resamples", "300"]) == 0
    table = capsys.readouterr().out
    assert ("Not compared: MedTEB-Retrieval has no scores of medteb/bm25-zh@noisy-sample (only "
            f"of medteb/bm25-zh@{BM25_SAMPLE}).") in table
    assert "| MedTEB-Retrieval |" not in table and "| MedTEB-Rerank |" in table


def test_divergent_queries_agree_with_the_metric(sample_runs: tuple[Path, Path, Path]) -> None:
    """The first relevant document's rank shown is the one pytrec_eval scored: with a single
    relevant candidate, AP = 1 / rank (bm25's ties among zero scores included)."""
    from medteb.analysis.compare import compare

    _, preds, noisy = sample_runs
    runs = [load_run(preds), load_run(noisy)]
    report = compare(runs, resamples=200, top=30)
    relevant = runs[0].tasks["MedTEB-Rerank"].dataset["default"]["test"]["relevant_docs"]
    divergent = report.pairs[0].tasks["MedTEB-Rerank"].divergent
    single = [d for d in divergent if len(relevant[d.query_id]) == 1]
    assert len(single) >= 3
    for d in single:
        assert d.value_a == pytest.approx(1 / d.rank_a) and d.value_b == pytest.approx(1 / d.rank_b)
    gaps = [abs(d.value_a - d.value_b) for d in divergent]
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] > 0


def test_compare_refuses(sample_runs: tuple[Path, Path, Path], tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    results, preds, noisy = sample_runs

    def error(*argv: str) -> str:
        assert main(["compare", *argv, "--resamples", "100"]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        return line

    assert "no predictions or per-query files; to get them, run `medteb run -m MODEL " \
           "--data-dir DIR --prediction-folder PREDS`" in error(str(results), str(preds))
    assert "compare needs at least two runs, got 1" in error(str(preds))
    assert "not a folder" in error(str(tmp_path / "nowhere"), str(preds))
    # predictions of other data or an incomplete run: one query dropped, one query added
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    saved = json.loads((noisy / "MedTEB-Retrieval_predictions.json").read_text("utf-8"))
    del saved["default"]["test"]["q001"]
    (fewer / "MedTEB-Retrieval_predictions.json").write_text(json.dumps(saved), "utf-8")
    assert ("MedTEB-Retrieval: 1 judged queries have no predictions (q001): an incomplete run, "
            "or other data") in error(str(preds), str(fewer))
    saved["default"]["test"]["x-1"] = {"d001": 1.0}
    (fewer / "MedTEB-Retrieval_predictions.json").write_text(json.dumps(saved), "utf-8")
    assert ("MedTEB-Retrieval: predictions for 1 queries that the data does not have (x-1): "
            "predictions of other data? give the run's --data-dir") in error(str(preds),
                                                                             str(fewer))
    # per-query files of other queries
    run = load_run(preds)
    per_query = run.scores["MedTEB-Rerank"]
    other_ids = tmp_path / "other-ids"
    other_ids.mkdir()
    write_per_query(other_ids / "MedTEB-Rerank.per_query.jsonl", per_query.__class__(
        **{**per_query.__dict__, "ids": ("zz", *per_query.ids[1:])}))
    assert ("MedTEB-Rerank: medteb/bm25-zh@" + BM25_SAMPLE + " and medteb/bm25-zh@"
            + BM25_SAMPLE + " are on different data: 1 queries only in the first ['rq001'], "
            "1 only in the second ['zz']") in error(str(preds), str(other_ids))
    # another data revision (per-query files)
    other = tmp_path / "other"
    other.mkdir()
    write_per_query(other / "MedTEB-Rerank.per_query.jsonl",
                    per_query.__class__(**{**per_query.__dict__, "data_revision": "v2"}))
    assert f"data revision {per_query.data_revision} vs v2" in error(str(preds), str(other))
    # two model revisions under one folder
    two = tmp_path / "two"
    for name in ("r1", "r2"):
        (two / "org__m" / name).mkdir(parents=True)
        write_per_query(two / "org__m" / name / "MedTEB-Rerank.per_query.jsonl", per_query)
    assert "2 model revisions (org__m/r1, org__m/r2); give one of them" in error(str(two),
                                                                              str(preds))

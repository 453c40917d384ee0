"""``medteb submit [PATH] --predictions P --labels DIR``: an entry scored on hidden labels.

A release whose MedTEB tasks carry no labels (the bundled sample with its labels removed) is
run with ``--prediction-folder``; the maintainer files the predictions against the labels (the
sample, with distinctive STS gold values planted). CMedQA's data comes from the Hub, which the
tests cannot reach: a stand-in reranking task with CMedQA's metric (the labels' MedTEB-Rerank)
serves as its data, so that the run's CMedQA results are verified like any other.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from medteb.cli import main
from tests.conftest import ROOT, copy_seeded_results, write_jsonl

TASKS = ("MedTEB-Rerank", "MedTEB-Retrieval", "MedTEB-STS")
CMEDQA = ("CMedQAv1-reranking", "CMedQAv2-reranking")
MARK = "2718281828"  # in every planted STS gold value; in no other number here


def _labels_and_release(root: Path) -> tuple[Path, Path]:
    """The sample with planted STS gold values (the labels), and release 2027.1: the same data
    without labels."""
    from medteb.build.export import write_datasheet
    from medteb.release.create import create_release

    labels, public = root / "labels", root / "public"
    for task in TASKS:
        shutil.copytree(ROOT / "tasks" / task / "sample", labels / task)
        shutil.copytree(ROOT / "tasks" / task / "sample", public / task)
        shutil.rmtree(public / task / "qrels", ignore_errors=True)
    gold = labels / "MedTEB-STS" / "sts" / "test.jsonl"
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    write_jsonl(gold, [{**r, "score": float(f"0.{i % 9 + 1}{MARK}")}
                       for i, r in enumerate(rows)])
    write_jsonl(public / "MedTEB-STS" / "sts" / "test.jsonl",
                [{k: v for k, v in r.items() if k != "score"} for r in rows])
    write_datasheet(public, {}, {"judges": []}, "2027-01-01")
    create_release(public, root / "releases", "2027.1", today=datetime.date(2027, 1, 2))
    return labels, root / "releases"


@pytest.fixture(scope="module")
def hidden_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bm25-zh on release 2027.1 (exit 3: predictions only), and its CMedQA results as a run on
    the stand-in data would write them."""
    import os

    root = tmp_path_factory.mktemp("hidden")
    _labels_and_release(root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["run", "-m", "bm25-zh", "-t", *TASKS, "--release", "2027.1",
                     "--releases-dir", "releases", "--prediction-folder", "preds",
                     "-v", "0"]) == 3
    finally:
        os.chdir(cwd)
    (model,) = (root / "preds").glob("*/*")
    assert {p.name for p in model.iterdir()} >= {"model_meta.json", "run_manifest.yaml",
                                                 *(f"{t}_predictions.json" for t in TASKS)}
    _cmedqa_results(root, model)
    return root


def _cmedqa_results(root: Path, model: Path) -> None:
    """CMedQA results and predictions: the Rerank predictions, scored on the stand-in data."""
    import mteb

    from medteb.results.scoring import score_predictions

    rerank = score_predictions(model, root / "labels", ["MedTEB-Rerank"]).scores[0].main_score
    run = root / "runs" / model.parent.name / model.name
    run.mkdir(parents=True)
    shutil.copy2(model / "model_meta.json", run / "model_meta.json")
    for task in CMEDQA:
        shutil.copy2(model / "MedTEB-Rerank_predictions.json", model / f"{task}_predictions.json")
        result = {"dataset_revision": mteb.get_task(task).metadata.revision, "task_name": task,
                  "mteb_version": mteb.__version__, "evaluation_time": 1.0,
                  "kg_co2_emissions": None,
                  "scores": {"test": [{"main_score": rerank, "map_at_1000": rerank,
                                       "hf_subset": "default", "languages": ["cmn-Hans"]}]}}
        (run / f"{task}.json").write_text(json.dumps(result, indent=2) + "\n")


@pytest.fixture
def repo(tmp_path: Path, hidden_run: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A MedTEB checkout (results/, leaderboard, site) with the stand-in CMedQA data."""
    from medteb.results.outputs import regenerate_leaderboard
    from medteb.results.submit import DataContext

    repo = tmp_path / "repo"
    repo.mkdir()
    copy_seeded_results(repo)
    regenerate_leaderboard(repo / "results", repo / "leaderboard.md")
    assert main(["leaderboard", "--results", str(repo / "results"), "--html",
                 str(repo / "site")]) == 0
    loader = DataContext.task

    def task(self: DataContext, name: str, kind: str) -> object:
        if name in CMEDQA and kind == "official":
            import copy

            stand_in = copy.copy(loader(DataContext(None, labels=str(hidden_run / "labels")),
                                        "MedTEB-Rerank", "labels"))
            import mteb

            metadata = stand_in.metadata.model_copy(update={"name": name}, deep=True)
            metadata.dataset["revision"] = mteb.get_task(name).metadata.revision
            stand_in.metadata = metadata
            return stand_in
        return loader(self, name, kind)

    monkeypatch.setattr(DataContext, "task", task)
    monkeypatch.chdir(repo)
    return repo


def _flags(run: Path, labels: Path | None = None) -> list[str]:
    return ["--predictions", str(run / "preds"), "--labels", str(labels or run / "labels"),
            "--releases-dir", str(run / "releases"), "--setting", "zero-shot",
            "--training-data", "none"]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file()}


def test_an_entry_scored_on_hidden_labels(repo: Path, hidden_run: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert main(["score", str(hidden_run / "preds"), "--labels", str(hidden_run / "labels"),
                 "--format", "json"]) == 0
    scored = json.loads(capsys.readouterr().out)["tasks"]
    assert main(["submit", str(hidden_run / "runs"), *_flags(hidden_run)]) == 0
    out = capsys.readouterr().out
    assert "scores verified from predictions" in out
    (entry,) = [p for p in (repo / "results").glob("medteb__bm25-zh/*")]
    manifest = (hidden_run / "preds" / entry.parent.name / entry.name / "run_manifest.yaml")
    import yaml

    recorded = yaml.safe_load(manifest.read_text())["tasks"]
    labels_revisions = {}
    for task in TASKS:  # the public data's revision, the score medteb score gives
        result = json.loads((entry / f"{task}.json").read_text())
        assert result["dataset_revision"] == recorded[task]["data_revision"]
        assert result["dataset_revision"].startswith("release-2027.1-")
        assert result["scores"]["test"][0]["main_score"] == scored[task]["main_score"]
        labels_revisions[task] = scored[task]["labels_revision"]
        assert not (entry / f"{task}.per_query.jsonl").exists()
    assert all((entry / f"{t}.per_query.jsonl").is_file() for t in CMEDQA)
    submission = yaml.safe_load((entry / "submission.yaml").read_text())
    assert submission["verified"] is True
    hidden = submission["hidden_labels"]
    assert {t: h["labels_revision"] for t, h in hidden.items()} == labels_revisions
    assert all(r.startswith("local-") for r in labels_revisions.values())
    board = (repo / "leaderboard.md").read_text()
    (line,) = [row for row in board.splitlines() if "medteb/bm25-zh" in row]
    assert "reproduced, verified, hidden labels" in line
    assert "*Hidden labels*: the maintainer scored these tasks" in board
    page = json.loads((repo / "site" / "leaderboard.json").read_text())
    (row,) = [r for r in page["boards"]["zero-shot"] if r["model_name"] == "medteb/bm25-zh"]
    assert row["hidden_labels"] == list(TASKS) and row["rank"] is not None
    # each hidden score's interval: the one the board would compute were its per-query scores
    # public (computed here on the labels, independently of the submit), shown and exported
    from medteb.analysis.perquery import from_predictions
    from medteb.benchmark.tasks import get_task
    from medteb.results.board_stats import board_stats
    from medteb.results.rows import TASK_COLUMNS

    for task in TASKS:
        labelled = get_task(task, data_dir=hidden_run / "labels")
        labelled.load_data()
        saved = json.loads((hidden_run / "preds" / entry.parent.name / entry.name
                            / f"{task}_predictions.json").read_text())
        column = TASK_COLUMNS[task]
        lo, hi = board_stats([{task: from_predictions(labelled, saved)}], TASK_COLUMNS).ci[
            (0, column)]
        assert hidden[task]["interval"] == [lo, hi] and lo < scored[task]["main_score"] < hi
        assert f"{100 * scored[task]['main_score']:.2f} [{100 * lo:.2f}, {100 * hi:.2f}]" in line
        assert row["ci"][column] == [round(100 * lo, 6), round(100 * hi, 6)]
    # no written file holds a label: the planted gold values are in the labels only
    assert sum(MARK in text.decode("utf-8", "replace")
               for text in _files(hidden_run / "labels").values()) == 1
    written = {**_files(repo / "results"), **_files(repo / "site"),
               "leaderboard.md": board.encode()}
    assert [p for p, text in written.items() if MARK.encode() in text] == []
    assert MARK not in out


def test_the_entry_passes_the_pull_request_check(repo: Path, hidden_run: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    """CI has neither the labels nor the predictions: the hidden-label scores are taken as
    declared, the other tasks' per-query files give their scores back."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "pr")
    assert main(["submit", str(hidden_run / "runs"), *_flags(hidden_run)]) == 0
    git("add", "-A")
    git("commit", "-qm", "pr")
    monkeypatch.setenv("MEDTEB_RELEASES_DIR", str(hidden_run / "releases"))
    capsys.readouterr()
    # by default (a pull request from anyone) such an entry is refused: nothing can recompute it
    assert main(["submit", "--check", "main"]) == 1
    (entry,) = (repo / "results").glob("medteb__bm25-zh/*")
    assert capsys.readouterr().err == (
        f"medteb: results/{entry.parent.name}/{entry.name}: declares MedTEB-Rerank, "
        "MedTEB-Retrieval, MedTEB-STS scored on hidden labels, which only a maintainer files "
        "(`medteb submit --labels`); this pull request's author cannot add them (CI passes "
        "--allow-hidden-labels for the repository's members)\n")
    check = ["submit", "--check", "main", "--allow-hidden-labels"]
    assert main(check) == 0, capsys.readouterr().err
    # CI cannot recompute them: the comment says so, for the reviewer to check who filed them
    assert "- medteb/bm25-zh: MedTEB-Rerank, MedTEB-Retrieval, MedTEB-STS scored on hidden " \
           "labels are taken as declared (CI has no labels): merge only an entry a maintainer " \
           "filed with `medteb submit --labels`" in capsys.readouterr().out
    # with the predictions (a maintainer's local check), the public tasks are recomputed and
    # the hidden ones, which need the labels, taken as declared
    assert main([*check, "--predictions", str(hidden_run / "preds")]) == 0, \
        capsys.readouterr().err
    (entry / "MedTEB-STS.per_query.jsonl").write_text("{}\n")  # would publish the labels
    git("add", "-A")
    git("commit", "-qm", "leak")
    assert main(check) == 1
    assert "MedTEB-STS.per_query.jsonl: per-query scores of a task scored on hidden labels " \
           "would publish its labels" in capsys.readouterr().err


def test_labels_of_other_data_or_without_labels_are_refused(
        repo: Path, hidden_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    before = _files(repo)
    other = tmp_path / "other"
    shutil.copytree(hidden_run / "labels", other)
    corpus = other / "MedTEB-Retrieval" / "corpus.jsonl"
    docs = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    write_jsonl(corpus, [{**docs[0], "text": docs[0]["text"] + "。"}, *docs[1:]])
    sts = other / "MedTEB-STS" / "sts" / "test.jsonl"
    pairs = [json.loads(line) for line in sts.read_text(encoding="utf-8").splitlines()]
    write_jsonl(sts, pairs[1:])
    capsys.readouterr()
    assert main(["submit", str(hidden_run / "runs"), *_flags(hidden_run, other)]) == 1
    err = capsys.readouterr().err
    assert f"MedTEB-Retrieval: the labels in {other} are not release 2027.1's data: 1 " \
           f"documents differ (e.g. {docs[0]['_id' if '_id' in docs[0] else 'id']})" in err
    assert f"MedTEB-STS: the labels in {other} are not release 2027.1's data: " \
           f"{len(pairs)} sentence pairs differ" in err
    assert "MedTEB-Rerank" not in err
    public = hidden_run / "releases" / "2027.1"
    assert main(["submit", str(hidden_run / "runs"), *_flags(hidden_run, public)]) == 1
    err = capsys.readouterr().err
    assert err.count(f"the data in {public} has no labels (the public part") == 3
    assert _files(repo) == before  # nothing written


def test_without_the_runs_cmedqa_results_the_entry_is_incomplete(
        repo: Path, hidden_run: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert main(["submit", *_flags(hidden_run)]) == 1
    err = capsys.readouterr().err
    assert "missing tasks of the benchmark: CMedQAv1-reranking, CMedQAv2-reranking" in err


def test_flag_and_input_mistakes(repo: Path, hidden_run: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture) -> None:
    assert main(["submit", "--labels", str(hidden_run / "labels")]) == 2
    err = capsys.readouterr().err
    assert err == "medteb: error: --labels DIR scores a run's predictions: add --predictions P (the " \
                  "run's --prediction-folder)\n"
    bare = tmp_path / "bare"  # predictions without the run's records
    shutil.copytree(hidden_run / "preds", bare)
    for name in ("model_meta.json", "run_manifest.yaml"):
        next(bare.glob(f"*/*/{name}")).unlink()
    flags = _flags(hidden_run)
    flags[1] = str(bare)
    assert main(["submit", str(hidden_run / "runs"), *flags]) == 1
    err = capsys.readouterr().err
    assert "no readable model_meta.json beside the predictions" in err
    assert "run_manifest.yaml" in err
    # a run whose MedTEB tasks all have results: nothing is hidden
    full = tmp_path / "full"
    shutil.copytree(hidden_run / "runs", full)
    (run,) = full.glob("*/*")
    for task in TASKS:
        shutil.copy2(run / "CMedQAv1-reranking.json", run / f"{task}.json")
    assert main(["submit", str(full), *_flags(hidden_run)]) == 1
    assert "no MedTEB task is predicted without a result" in capsys.readouterr().err


def test_a_result_on_label_free_data_is_refused(repo: Path, hidden_run: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    """A result in PATH for a task whose release hides its labels cannot come from a run (it
    would be a made-up score): with --labels it wins over the predictions and must be refused,
    as in a plain (unverified) submission, with one line and nothing written."""
    import yaml

    before = _files(repo)
    runs = tmp_path / "runs"
    shutil.copytree(hidden_run / "runs", runs)
    (run,) = runs.glob("*/*")
    (model,) = (hidden_run / "preds").glob("*/*")
    recorded = yaml.safe_load((model / "run_manifest.yaml").read_text())["tasks"]
    for task in TASKS:
        result = json.loads((run / "CMedQAv1-reranking.json").read_text())
        result.update(dataset_revision=recorded[task]["data_revision"], task_name=task)
        (run / f"{task}.json").write_text(json.dumps(result))
    retrieval = (run / "MedTEB-Retrieval.json").read_bytes()
    (run / "MedTEB-Retrieval.json").unlink()  # still hidden: scored on the labels
    capsys.readouterr()
    assert main(["submit", str(runs), *_flags(hidden_run)]) == 1
    err = capsys.readouterr().err
    assert err.count("hides") == 2, err
    assert "/MedTEB-STS.json: release 2027.1 hides MedTEB-STS's labels, so no run can score " \
           "it: hand in the predictions for the maintainer to score" in err
    assert "MedTEB-Retrieval" not in err and "Traceback" not in err
    (run / "MedTEB-Retrieval.json").write_bytes(retrieval)
    plain = ["--releases-dir", str(hidden_run / "releases"), "--setting", "zero-shot",
             "--training-data", "none"]
    assert main(["submit", str(runs), *plain]) == 1
    assert capsys.readouterr().err.count("hides") == 3
    assert _files(repo) == before


def test_a_partial_label_folder_is_refused(repo: Path, hidden_run: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    """Labels that judge only some of the release's queries (a label folder that lost queries)
    would score the model on the rest: its predictions of the others silently drop out."""
    before = _files(repo)
    partial = tmp_path / "partial"
    shutil.copytree(hidden_run / "labels", partial)
    task = partial / "MedTEB-Retrieval"
    queries = [json.loads(line) for line in
               (task / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    dropped = {q["_id"] for q in queries[:2]}
    write_jsonl(task / "queries.jsonl", queries[2:])
    qrels = (task / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    (task / "qrels" / "test.tsv").write_text("".join(
        line for line in qrels if line.split("\t")[0] not in dropped), encoding="utf-8")
    capsys.readouterr()
    assert main(["submit", str(hidden_run / "runs"), *_flags(hidden_run, partial)]) == 1
    err = capsys.readouterr().err
    assert f"MedTEB-Retrieval: the labels in {partial} are not release 2027.1's data: 2 release " \
           f"queries have no judgement (e.g. {', '.join(sorted(dropped))}); only the judged " \
           "ones would be scored" in err
    assert "MedTEB-Rerank" not in err and "MedTEB-STS" not in err
    assert _files(repo) == before

"""``medteb submit``: one test per rejection (with its message), atomicity, verified scores."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from medteb.cli import main
from medteb.errors import SubmissionError
from medteb.results.submit import SubmitOptions, plan_submission
from tests.conftest import copy_seeded_results

BM25 = "medteb__bm25-zh"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh `medteb run` (the offline demo: bm25-zh on the sample) with its predictions."""
    folder = tmp_path_factory.mktemp("demo-run")
    assert main(["run", "--output-folder", str(folder / "run"), "--prediction-folder",
                 str(folder / "predictions"), "-v", "0"]) == 0
    return folder


@pytest.fixture
def run(demo_run: Path, tmp_path: Path) -> Path:
    """A private copy of the demo run's output folder (tests tamper with it)."""
    shutil.copytree(demo_run, tmp_path / "submitted")
    return tmp_path / "submitted" / "run"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's seeded results/ and their leaderboard, as the working
    directory."""
    root = tmp_path / "repo"
    copy_seeded_results(root)
    monkeypatch.chdir(root)
    return root


def folder_of(run: Path) -> Path:
    (revision,) = list((run / BM25).iterdir())
    return revision


def edit(path: Path, change: Callable[[dict], object]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def data_rows(markdown: str) -> int:
    return sum(line.startswith("| ") and not line.startswith("| Rank")
               for line in markdown.splitlines())


def rejected(repo: Path, capsys: pytest.CaptureFixture, *argv: str) -> str:
    """Run a submission that must fail; check nothing changed; return the message."""
    before = snapshot(repo)
    capsys.readouterr()
    assert main(["submit", *argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert snapshot(repo) == before  # results/ and leaderboard.md byte-identical
    assert "submission rejected" in captured.err and "nothing was written" in captured.err
    return captured.err


def test_fresh_run_adds_one_row(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    rows_before = data_rows((repo / "leaderboard.md").read_text())
    assert main(["submit", str(run)]) == 0
    out = capsys.readouterr().out
    assert "adds 'medteb/bm25-zh' on the 'sample' board; scores as claimed" in out
    text = (repo / "leaderboard.md").read_text()
    assert data_rows(text) == rows_before + 1
    assert "| – | medteb/bm25-zh | 0 / 0 | – | – | **" in text
    stored = folder_of(repo / "results")
    assert sorted(p.name for p in stored.iterdir()) == [
        "MedTEB-Rerank.json", "MedTEB-Retrieval.json", "MedTEB-STS.json", "model_meta.json",
        "run_manifest.yaml", "run_settings.jsonl", "submission.yaml"]
    sts = json.loads((stored / "MedTEB-STS.json").read_text())
    assert sts["medteb_provenance"].startswith("reproduced with `medteb run` (mteb 2.26.24)")
    assert "setting: sample\n" in (stored / "submission.yaml").read_text()
    assert not list((repo / "results").glob(".submit-*"))  # staging cleaned up
    assert (repo / "leaderboard.png").is_file() and (repo / "leaderboard.svg").is_file()


def test_verified_with_predictions(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    predictions = run.parent / "predictions"
    assert main(["submit", str(run), "--predictions", str(predictions)]) == 0
    assert "scores verified from predictions" in capsys.readouterr().out
    assert "reproduced, verified [" in (repo / "leaderboard.md").read_text()


def test_predictions_in_mteb_flat_layout_are_read_too(repo: Path, run: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    predictions = run.parent / "predictions"
    for path in list(predictions.rglob("*_predictions.json")):  # as plain `mteb run` writes
        path.rename(predictions / path.name)
    assert main(["submit", str(run), "--predictions", str(predictions)]) == 0
    assert "scores verified from predictions" in capsys.readouterr().out


def test_tampered_score_is_caught(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    path = folder_of(run) / "MedTEB-Retrieval.json"
    claimed = json.loads(path.read_text())["scores"]["test"][0]["main_score"]
    edit(path, lambda d: d["scores"]["test"][0].update(main_score=claimed + 0.05))
    err = rejected(repo, capsys, str(run), "--predictions", str(run.parent / "predictions"))
    assert (f"MedTEB-Retrieval.json: claimed main score {claimed + 0.05:.6f} differs from "
            f"{claimed:.6f} recomputed from MedTEB-Retrieval_predictions.json") in err
    assert "1 problem(s)" in err


def test_predictions_of_another_model(repo: Path, run: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    (path,) = (run.parent / "predictions").rglob("MedTEB-STS_predictions.json")
    edit(path, lambda d: d["mteb_model_meta"].update(model_name="org/other"))
    err = rejected(repo, capsys, str(run), "--predictions", str(run.parent / "predictions"))
    assert "MedTEB-STS_predictions.json: predictions of org/other revision" in err


def test_predictions_leaving_out_judged_queries_are_refused(
        repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    """Drop the worst-ranked judged query and claim the mean of the rest: every remaining score
    recomputes exactly, but the sample is smaller and easier, so the submission is refused."""
    from medteb.benchmark.tasks import get_task
    from medteb.results.verify import ranking_per_query, ranking_score

    (path,) = (run.parent / "predictions").rglob("MedTEB-Retrieval_predictions.json")
    saved = json.loads(path.read_text())
    rankings = saved["default"]["test"]
    task = get_task("MedTEB-Retrieval", data_dir="sample")
    task.load_data()
    qrels = dict(task.dataset["default"]["test"]["relevant_docs"])
    values = ranking_per_query("ndcg_at_10", qrels, rankings)
    worst = min(values, key=values.get)
    assert values[worst] < max(values.values())  # leaving it out flatters the model
    del rankings[worst]
    path.write_text(json.dumps(saved))
    easier = ranking_score("ndcg_at_10", qrels, rankings)
    result = folder_of(run) / "MedTEB-Retrieval.json"
    edit(result, lambda d: d["scores"]["test"][0].update(main_score=easier, ndcg_at_10=easier))
    judged = sum(1 for docs in qrels.values() if docs)
    err = rejected(repo, capsys, str(run), "--predictions", str(run.parent / "predictions"))
    assert (f"MedTEB-Retrieval_predictions.json: 1 of {judged} judged queries have no ranking "
            f"(e.g. {worst})") in err
    assert "1 problem(s)" in err


def test_not_an_mteb_result_file(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    (folder_of(run) / "MedTEB-STS.json").write_text('{"accuracy": 0.9}')
    err = rejected(repo, capsys, str(run))
    assert "MedTEB-STS.json: not an mteb result file (no 'scores' object)" in err
    (folder_of(run) / "MedTEB-STS.json").write_text('{"scores": {"test": []}, "task_name": 3')
    assert "MedTEB-STS.json: not an mteb result file (not JSON: " in rejected(repo, capsys, str(run))
    edit(folder_of(run) / "MedTEB-Rerank.json", lambda d: d.pop("dataset_revision"))
    err = rejected(repo, capsys, str(run))
    assert "MedTEB-Rerank.json: not an mteb result file (dataset_revision: Field required)" in err


def test_unknown_task(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    folder = folder_of(run)
    shutil.copy(folder / "MedTEB-STS.json", folder / "MedTEB-STSS.json")
    err = rejected(repo, capsys, str(run))
    assert "MedTEB-STSS.json: unknown task 'MedTEB-STSS': not a task of the MedTEB benchmark" in err
    assert "did you mean 'MedTEB-STS'?" in err


def test_missing_tasks(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    (folder_of(run) / "MedTEB-Rerank.json").unlink()
    err = rejected(repo, capsys, str(run))
    assert "missing tasks of the benchmark: MedTEB-Rerank (the sample board needs " \
           "MedTEB-Retrieval, MedTEB-Rerank, MedTEB-STS)" in err


def test_wrong_split(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    edit(folder_of(run) / "MedTEB-STS.json",
         lambda d: d.update(scores={"dev": d["scores"]["test"]}))
    err = rejected(repo, capsys, str(run))
    assert "MedTEB-STS.json: wrong split: scores for ['dev']; MedTEB evaluates the 'test' split only" in err


def test_stale_dataset_revision(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    edit(folder_of(run) / "MedTEB-STS.json", lambda d: d.update(dataset_revision="sample-0ld"))
    err = rejected(repo, capsys, str(run))
    assert "MedTEB-STS.json: dataset revision 'sample-0ld' is not the task's current revision 'sample-" in err


def test_unpublished_official_revision(repo: Path, run: Path,
                                       capsys: pytest.CaptureFixture) -> None:
    for task in ("MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"):
        edit(folder_of(run) / f"{task}.json", lambda d: d.update(dataset_revision="local-abc"))
    err = rejected(repo, capsys, str(run), "--setting", "zero-shot")
    assert ("MedTEB-Retrieval.json: dataset revision 'local-abc' cannot be accepted: the "
            "official MedTEB-Retrieval data has no published revision yet") in err
    assert "missing tasks of the benchmark: CMedQAv1-reranking, CMedQAv2-reranking" in err


@pytest.mark.parametrize(("value", "message"), [
    (None, "MedTEB-STS.json: main score missing (subset 'default')"),
    ("nan", "MedTEB-STS.json: main score nan is not a finite number"),
    (87.5, "MedTEB-STS.json: main score 87.5 is outside [-1, 1] (mteb stores scores on a 0-1 scale"),
])
def test_bad_main_score(repo: Path, run: Path, capsys: pytest.CaptureFixture, value: object,
                        message: str) -> None:
    def change(d: dict) -> None:
        entry = d["scores"]["test"][0]
        if value is None:
            del entry["main_score"]
        else:
            entry["main_score"] = float(value)  # type: ignore[arg-type]

    edit(folder_of(run) / "MedTEB-STS.json", change)
    assert message in rejected(repo, capsys, str(run))


def test_ranking_score_outside_unit_interval(repo: Path, run: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    edit(folder_of(run) / "MedTEB-Rerank.json",
         lambda d: d["scores"]["test"][0].update(main_score=-0.1))
    assert "MedTEB-Rerank.json: main score -0.1 is outside [0, 1]" in rejected(repo, capsys, str(run))


def test_missing_model_meta(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    (folder_of(run) / "model_meta.json").unlink()
    err = rejected(repo, capsys, str(run))
    assert "missing model meta: no model_meta.json (mteb's ModelMeta" in err


def test_missing_parameters(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    edit(folder_of(run) / "model_meta.json", lambda d: d.update(n_parameters=None))
    err = rejected(repo, capsys, str(run))
    assert "model_meta.json: missing model parameters ('n_parameters' is None" in err


def _as_pair(query: int, document: int, total: int) -> Callable[[dict], None]:
    def change(meta: dict) -> None:
        meta["n_parameters"] = total
        meta["loader_kwargs"] = {"asymmetric": {"query": {"n_parameters": query},
                                                "document": {"n_parameters": document}}}
    return change


def test_asymmetric_pair_shows_both_parameter_counts(repo: Path, run: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    edit(folder_of(run) / "model_meta.json", _as_pair(24_000_000, 4_020_000_000, 4_044_000_000))
    assert main(["submit", str(run)]) == 0
    assert "| medteb/bm25-zh | 24M / 4.02B |" in (repo / "leaderboard.md").read_text()


def test_pair_parameters_must_add_up(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    edit(folder_of(run) / "model_meta.json", _as_pair(10, 20, 31))
    err = rejected(repo, capsys, str(run))
    assert ("inconsistent model meta: an asymmetric pair's query and document parameters "
            "(10 + 20) must add up to 'n_parameters' (31)") in err


def test_inconsistent_name(repo: Path, run: Path, capsys: pytest.CaptureFixture) -> None:
    edit(folder_of(run) / "model_meta.json", lambda d: d.update(name="org/other"))
    err = rejected(repo, capsys, str(run))
    assert ("inconsistent model meta: the folder says medteb__bm25-zh/"
            "bm25s-0.3.16_jieba-0.42.1_k1-1.5_b-0.75-sample but model_meta.json says "
            "org__other/") in err


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "../../etc/evil", "model name '../../etc/evil' is not allowed"),
    ("name", "org/<img src=x>", "model name 'org/<img src=x>' is not allowed"),
    ("name", "org/a|b", "model name 'org/a|b' is not allowed"),
    ("revision", "../../../x", "model revision '../../../x' is not allowed"),
    ("revision", "reported-paper-table9", "model revision 'reported-paper-table9' is reserved"),
])
def test_unsafe_names(repo: Path, run: Path, capsys: pytest.CaptureFixture, field: str,
                      value: str, message: str) -> None:
    edit(folder_of(run) / "model_meta.json", lambda d: d.update({field: value}))
    err = rejected(repo, capsys, str(run))
    assert message in err
    assert "nor inject markup into leaderboard.md" in err or "is reserved" in err
    assert not (repo / "etc").exists() and not (repo.parent / "x").exists()


def test_missing_setting_for_benchmark_data(repo: Path, run: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    for task in ("MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"):
        edit(folder_of(run) / f"{task}.json", lambda d: d.update(dataset_revision="local-abc"))
    err = rejected(repo, capsys, str(run))
    assert "missing setting: pass --setting zero-shot or --setting fine-tuned" in err


def test_sample_results_cannot_claim_a_benchmark_setting(repo: Path, run: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    err = rejected(repo, capsys, str(run), "--setting", "fine-tuned")
    assert ("inconsistent setting: these results were computed on the bundled sample, so they "
            "go to the 'sample' board, not 'fine-tuned'") in err


@pytest.mark.parametrize(("setting", "training", "message"), [
    ("zero-shot", ["MedTEB-Retrieval"], "inconsistent setting: zero-shot, but the training data includes MedTEB's MedTEB-Retrieval"),
    ("fine-tuned", [], "inconsistent setting: fine-tuned, but the training data names none of MedTEB's training splits"),
    ("zero-shot", None, "missing training data: model_meta.json has training_datasets null"),
])
def test_training_data_must_match_setting(repo: Path, run: Path, capsys: pytest.CaptureFixture,
                                          setting: str, training: list | None,
                                          message: str) -> None:
    folder = folder_of(run)
    for task in ("MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"):
        edit(folder / f"{task}.json", lambda d: d.update(dataset_revision="local-abc"))
    edit(folder / "model_meta.json", lambda d: d.update(training_datasets=training))
    assert message in rejected(repo, capsys, str(run), "--setting", setting)


def test_training_data_flag_conflicts_with_meta(tmp_path: Path, run: Path) -> None:
    folder = folder_of(run)
    for task in ("MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"):
        edit(folder / f"{task}.json", lambda d: d.update(dataset_revision="local-abc"))
    options = SubmitOptions(setting="zero-shot", training_datasets=["DuRetrieval"])
    with pytest.raises(SubmissionError, match=r"inconsistent training data: model_meta.json declares \[\], --training-data \['DuRetrieval'\]"):
        plan_submission(run, tmp_path / "results", options)


def test_already_present_then_replace(repo: Path, run: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    assert main(["submit", str(run)]) == 0
    err = rejected(repo, capsys, str(run))
    assert "is already in results/medteb__bm25-zh/" in err and "pass --replace" in err
    edit(folder_of(run) / "MedTEB-STS.json",
         lambda d: d["scores"]["test"][0].update(main_score=0.5))
    assert main(["submit", str(run), "--replace"]) == 0
    assert "replaces 'medteb/bm25-zh'" in capsys.readouterr().out
    assert "| **50.00** |" in (repo / "leaderboard.md").read_text()


def test_every_problem_reported_at_once(repo: Path, run: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    folder = folder_of(run)
    (folder / "MedTEB-Rerank.json").unlink()
    edit(folder / "MedTEB-STS.json", lambda d: d["scores"]["test"][0].update(main_score=2.0))
    edit(folder / "model_meta.json", lambda d: d.update(n_parameters=None))
    err = rejected(repo, capsys, str(run))
    assert "3 problem(s)" in err
    assert "missing model parameters" in err and "outside [-1, 1]" in err
    assert "missing tasks of the benchmark: MedTEB-Rerank, MedTEB-STS" in err


def test_nothing_to_submit(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    err = rejected(repo, capsys, str(tmp_path / "empty"))
    assert "no result files found; expected <org__model>/<revision>/<TaskName>.json" in err


FS_CALLS = (("os", "replace"), ("os", "rename"), ("os", "unlink"), ("os", "remove"),
            ("os", "rmdir"), ("os", "mkdir"), ("os", "fsync"), ("shutil", "rmtree"))


def visible(root: Path) -> dict[str, bytes]:
    """The snapshot without hidden paths (a staging folder left over after a commit)."""
    return {k: v for k, v in snapshot(root).items()
            if not any(part.startswith(".") for part in Path(k).parts)}


def test_a_failure_at_any_step_loses_nothing(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the k-th file-system call of a --replace submission, for every k: results/, the
    leaderboard and the web site are byte-identical to before, or (a failure while cleaning up
    after the commit) the submission stands and the leftover is named."""
    import os

    from medteb.results.commit import commit_submission
    from medteb.results.layout import read_submission
    from medteb.results.outputs import derived_files, regenerate_leaderboard, write_site
    from medteb.results.submit import PlannedEntry, SubmissionPlan
    from tests.results_helpers import five, write_entry

    base = tmp_path / "base"
    write_entry(base / "results", "org/old", "r1", five(.8, .8, .5, .6, .7))
    write_entry(base / "results", "org/other", "r1", five(.7, .7, .4, .5, .6))
    regenerate_leaderboard(base / "results", base / "leaderboard.md", figure=False)
    write_site(base / "results", base / "site")
    new = tmp_path / "new"
    plan = SubmissionPlan(tuple(
        PlannedEntry(f"{folder.parent.name}/{folder.name}",
                     {p.name: p.read_bytes() for p in folder.iterdir()},
                     read_submission(folder), replaces=replaces)
        for folder, replaces in ((write_entry(new, "org/old", "r1", five(.9, .9, .9, .9, .9)),
                                  True),
                                 (write_entry(new, "org/fresh", "r1", five(.1, .1, .1, .1, .1)),
                                  False))))

    def attempt(k: int | None, name: str) -> tuple[Path, list[str] | None, int]:
        """Commit into a fresh copy of base, failing the k-th call; (root, notes, calls)."""
        root = tmp_path / name
        shutil.copytree(base, root)
        calls = 0

        def wrap(module: object, attr: str) -> None:
            real = getattr(module, attr)

            def call(*args: object, **kwargs: object) -> object:
                nonlocal calls
                calls += 1
                if calls == k:
                    raise OSError(f"injected failure of {attr}")
                return real(*args, **kwargs)

            monkeypatch.setattr(module, attr, call)

        for module, attr in FS_CALLS:
            wrap(os if module == "os" else shutil, attr)
        try:
            notes = commit_submission(plan, root / "results", lambda: derived_files(
                root / "results", root / "leaderboard.md", root / "site", figure=False))
        except OSError as err:
            notes = None
            message = str(err)
        else:
            message = ""
        finally:
            monkeypatch.undo()
        assert notes is not None or "injected failure" in message
        return root, notes, calls

    attempt(None, "warm-up")  # imports and caches, so that every attempt makes the same calls
    done, notes, total = attempt(None, "done")
    before, after = snapshot(base), snapshot(done)
    assert notes == [] and before != after and set(after) == set(visible(done))
    assert "90.00" in (done / "leaderboard.md").read_text()
    changed = {k for k in after if before.get(k) != after[k]}
    assert {"site/index.html", "site/leaderboard.json", "site/leaderboard.csv"} <= changed
    assert total > 10
    failed = []
    for k in range(1, total + 1):
        root, notes, _ = attempt(k, f"k{k}")
        if notes is None:
            failed.append(k)
            assert snapshot(root) == before, f"failure at call {k} changed the files"
        else:  # the commit stood; only cleaning up failed
            assert visible(root) == after, f"failure at call {k}"
            leftovers = set(snapshot(root)) - set(after)
            assert all(any(part in " ".join(notes) for part in Path(p).parts if
                           part.startswith(".")) for p in leftovers), (k, notes)
    assert failed == list(range(1, len(failed) + 1))  # then only cleanup calls remain
    # staging, both swaps (one moving the old entry aside), 3 leaderboard and 3 site files
    assert len(failed) >= 11


def test_replace_failing_at_the_leaderboard_keeps_the_old_entry(
        repo: Path, run: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    assert main(["submit", str(run)]) == 0
    before = snapshot(repo)
    edit(folder_of(run) / "MedTEB-STS.json",
         lambda d: d["scores"]["test"][0].update(main_score=0.5))

    def broken(board: object) -> dict:
        raise OSError("No space left on device")

    monkeypatch.setattr("medteb.results.figure.render_figure", broken)
    with pytest.raises(OSError, match="No space left"):
        main(["submit", str(run), "--replace"])
    assert snapshot(repo) == before  # the replaced entry is back, leaderboard untouched


def test_submit_needs_an_existing_results_folder(tmp_path: Path, run: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["submit", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no results folder 'results' here" in err
    assert "--results DIR" in err
    assert not (tmp_path / "results").exists() and not (tmp_path / "leaderboard.md").exists()


def test_recomputed_scores_equal_mtebs(demo_run: Path) -> None:
    """pytrec_eval / scipy on the demo's predictions give exactly the scores mteb stored."""
    from medteb.benchmark.tasks import get_task
    from medteb.results.verify import recompute_main_score

    folder = folder_of(demo_run / "run")
    for name in ("MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"):
        task = get_task(name, data_dir="sample")
        task.load_data()
        (path,) = (demo_run / "predictions").rglob(f"{name}_predictions.json")
        saved = json.loads(path.read_text())
        stored = json.loads((folder / f"{name}.json").read_text())["scores"]["test"][0]
        # mteb stores 6 decimals
        assert recompute_main_score(task, saved) == pytest.approx(stored["main_score"],
                                                                  abs=5e-7), name


def test_sample_results_are_filed_apart(repo: Path, run: Path) -> None:
    """A model's results on the sample go to <revision>-sample, never to the folder its
    benchmark results would take."""
    revision = folder_of(run).name
    assert main(["submit", str(run)]) == 0
    stored = folder_of(repo / "results")
    assert stored.name.endswith("-sample") and stored.name.removesuffix("-sample") == revision.removesuffix("-sample")
    assert json.loads((stored / "model_meta.json").read_text())["revision"] == stored.name
    assert main(["submit", str(run), "--replace"]) == 0  # the same run again: the same folder
    assert [p.name for p in (repo / "results" / BM25).iterdir()] == [stored.name]


def test_sample_mixed_with_other_data_is_refused(repo: Path, run: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    edit(folder_of(run) / "MedTEB-STS.json", lambda d: d.update(dataset_revision="local-0abc"))
    err = rejected(repo, capsys, str(run))
    assert ("mixes data: MedTEB-Rerank on the bundled sample, MedTEB-Retrieval on the bundled "
            "sample, MedTEB-STS on local-0abc; a submission's MedTEB tasks must all be on the "
            "sample or all on the benchmark data") in err


def test_sample_revision_without_sample_results(repo: Path, run: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    folder = folder_of(run)
    for task in ("MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"):
        edit(folder / f"{task}.json", lambda d: d.update(dataset_revision="local-0abc"))
    edit(folder / "model_meta.json", lambda d: d.update(revision=f"{folder.name}-sample"))
    folder.rename(folder.parent / f"{folder.name}-sample")
    err = rejected(repo, capsys, str(run), "--setting", "zero-shot", "--training-data", "none")
    assert f"model revision '{folder.name}-sample' marks results on the bundled sample, but no " \
           "result was computed on it" in err


def test_submit_rebuilds_the_site_only_where_it_exists(repo: Path, run: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    assert main(["submit", str(run)]) == 0
    assert "web site" not in capsys.readouterr().out and not (repo / "site").exists()
    (repo / "results" / BM25).rename(repo / "removed")  # submit it again, with a site
    assert main(["leaderboard", "--html"]) == 0  # builds site/
    assert "medteb/bm25-zh" not in (repo / "site" / "index.html").read_text("utf-8")
    capsys.readouterr()
    assert main(["submit", str(run)]) == 0
    assert capsys.readouterr().out.endswith("rebuilt the web site in site/\n")
    page = (repo / "site" / "index.html").read_text("utf-8")
    assert "medteb/bm25-zh" in page and "<td data-value=\"0\">0 / 0</td>" in page


def test_the_sites_link_base_survives_submit_and_rebuilds(repo: Path, run: Path) -> None:
    url = "https://github.com/ORG/medteb/blob/main/results"
    assert main(["leaderboard", "--html", "--results-url", url]) == 0
    assert main(["submit", str(run)]) == 0  # rebuilds site/ with the base it was built with
    page = (repo / "site" / "index.html").read_text("utf-8")
    assert f'href="{url}/medteb__bm25-zh/' in page and 'href="../results/' not in page
    assert json.loads((repo / "site" / "leaderboard.json").read_text("utf-8"))[
        "results_url"] == url
    assert main(["leaderboard", "--html"]) == 0  # a plain rebuild keeps it too
    assert f'href="{url}/medteb__bm25-zh/' in (repo / "site" / "index.html").read_text("utf-8")
    assert main(["leaderboard", "--html", "--results-url", "../results"]) == 0  # until changed
    assert 'href="{url}' not in (repo / "site" / "index.html").read_text("utf-8")


def test_a_failing_site_rebuild_undoes_the_submission(repo: Path, run: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The site is part of the submission's transaction: when it cannot be rebuilt, results/,
    the leaderboard and the site stay as they were."""
    assert main(["leaderboard", "--html"]) == 0
    before = snapshot(repo)

    def broken(site: object) -> dict:
        raise OSError("No space left on device")

    monkeypatch.setattr("medteb.results.site.Site.files", broken)
    with pytest.raises(OSError, match="No space left"):
        main(["submit", str(run)])
    assert snapshot(repo) == before

"""``medteb submit --check BASE`` on a synthetic pull request in a temporary git repository."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from medteb.cli import main
from tests.conftest import copy_seeded_results


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One bm25-zh run on the sample with its predictions (outside the repository)."""
    import os

    root = tmp_path_factory.mktemp("run")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["run", "-m", "bm25-zh", "--data-dir", "sample", "-t", "MedTEB-Retrieval",
                     "MedTEB-Rerank", "MedTEB-STS", "--prediction-folder", "preds",
                     "-v", "0"]) == 0
    finally:
        os.chdir(cwd)
    return root


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A MedTEB checkout's results/, leaderboard and site on branch main, one commit."""
    from medteb.results.outputs import regenerate_leaderboard

    repo = tmp_path / "repo"
    repo.mkdir()
    copy_seeded_results(repo)
    regenerate_leaderboard(repo / "results", repo / "leaderboard.md")  # with the figure
    (repo / "README.md").write_text("MedTEB\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    _git(repo, "checkout", "-qb", "pr")
    monkeypatch.chdir(repo)
    return repo


def _commit(repo: Path) -> None:
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pr")


def _submit(run_folder: Path) -> None:
    assert main(["submit", str(run_folder / "runs"), "--predictions",
                 str(run_folder / "preds")]) == 0


def test_a_good_submission_passes(repo: Path, run_folder: Path,
                                  capsys: pytest.CaptureFixture) -> None:
    _submit(run_folder)
    _commit(repo)
    capsys.readouterr()
    assert main(["submit", "--check", "main", "--predictions", str(run_folder / "preds")]) == 0
    out = capsys.readouterr().out
    assert "**MedTEB submission check** against `main`: passed" in out
    found = re.search(r"\| sample \| medteb/bm25-zh \(new\) \| – \| – \| – \| – \| "
                      r"(55\.81 \[\d+\.\d\d, \d+\.\d\d\]) \|", out)
    assert found, out  # the New-task avg with the interval the board shows for it
    (line,) = [r for r in (repo / "leaderboard.md").read_text().splitlines()
               if "medteb/bm25-zh" in r]
    assert found[1] in line


def test_every_problem_of_a_bad_submission_one_line_each(
        repo: Path, run_folder: Path, capsys: pytest.CaptureFixture) -> None:
    existing = sorted(p for p in (repo / "results").glob("*/*") if p.is_dir())
    _submit(run_folder)
    (new,) = [p for p in (repo / "results").glob("*/*") if p.is_dir() and p not in existing]
    # the bad parts: an edited and a removed entry, an unexpected and an oversized file, a
    # hand-edited leaderboard, a hand-edited score, a change outside results/
    edited = next(existing[0].glob("*.json"))
    edited.write_text(edited.read_text().replace("0", "1", 1))
    shutil.rmtree(existing[1])
    (new / "notes.txt").write_text("hello")
    (new / "MedTEB-Extra.json").write_bytes(b" " * (10 * 2**20 + 1))
    board = repo / "leaderboard.md"
    board.write_text(board.read_text().replace("medteb/bm25-zh", "medteb/bm25-zh (best!)", 1))
    score = new / "MedTEB-STS.json"
    score.write_text(score.read_text().replace('"main_score": 0', '"main_score": 0.9', 1))
    (repo / "README.md").write_text("changed\n")
    _commit(repo)
    capsys.readouterr()
    assert main(["submit", "--check", "main"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("medteb: ")]
    rel = lambda p: p.relative_to(repo).as_posix()  # noqa: E731
    expected = [
        f"{rel(edited)}: edits the existing entry {rel(existing[0])[8:]}",
        f"{rel(existing[1])}/", "removes the existing entry",
        f"{rel(new)}/notes.txt: unexpected file",
        f"{rel(new)}/MedTEB-Extra.json: 10.0 MB, over the 10 MB limit",
        "README.md: changed outside results/, leaderboard.* and site/",
    ]
    for text in expected:
        assert any(text in line for line in err), (text, err)
    assert len(err) == len(set(err))  # one line per problem, none twice


def test_a_hand_edited_leaderboard_or_score_is_caught(repo: Path, run_folder: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    import json

    _submit(run_folder)
    (new,) = [p for p in (repo / "results").glob("*/*") if p.is_dir()
              and _git(repo, "status", "--porcelain", str(p))]
    board = repo / "leaderboard.md"
    as_written = board.read_text()
    board.write_text(as_written + "\n<!-- edited -->\n")
    _commit(repo)
    preds = ["--predictions", str(run_folder / "preds")]
    capsys.readouterr()
    assert main(["submit", "--check", "main", *preds]) == 1
    err = capsys.readouterr().err
    assert err == "medteb: leaderboard.md: differs from what `medteb submit` writes (edited " \
                  "by hand?)\n"
    board.write_text(as_written)
    score = new / "MedTEB-STS.json"
    data = json.loads(score.read_text())
    data["scores"]["test"][0]["main_score"] += 0.1
    score.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    _git(repo, "reset", "-q", "--soft", "main")
    _commit(repo)
    assert main(["submit", "--check", "main", *preds]) == 1
    err = capsys.readouterr().err
    assert "MedTEB-STS.json: claimed main score" in err  # recomputed from the predictions
    assert "leaderboard.md" not in err and err.count("medteb: ") == 1


def test_no_new_entry_and_unknown_base(repo: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["submit", "--check", "main"]) == 1
    assert "medteb: no new entry or reproduction record under results/" in \
        capsys.readouterr().err
    assert main(["submit", "--check", "no-such-ref"]) == 2
    assert "git rev-parse --verify no-such-ref^{commit} failed" in capsys.readouterr().err
    assert main(["submit"]) == 2
    assert "give PATH, a run's output folder" in capsys.readouterr().err


def test_a_served_models_entry_with_its_given_count_passes(repo: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    """``submit --parameters`` writes the count into the entry, so the check re-derives the same
    entry from the pull request without the flag."""
    from tests.stub_embeddings import StubEmbeddings

    out, preds = tmp_path / "served-run", tmp_path / "served-preds"
    with StubEmbeddings() as stub:
        assert main(["run", "-m", "api/e5-small", "--api-base", stub.base_url, "--data-dir",
                     "sample", "-t", "MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS",
                     "--document-store", str(tmp_path / "store"), "--output-folder", str(out),
                     "--prediction-folder", str(preds), "-v", "0"]) == 0
    assert main(["submit", str(out), "--predictions", str(preds), "--parameters", "118000000"]) \
        == 0
    _commit(repo)
    capsys.readouterr()
    assert main(["submit", "--check", "main", "--predictions", str(preds)]) == 0
    assert "| sample | api/e5-small (new) |" in capsys.readouterr().out


def test_a_verified_entry_passes_without_the_predictions(repo: Path, run_folder: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    """CI has no predictions: an entry submitted with --predictions is checked against its own
    per-query files (which give each score back), so an honest one passes and a score or a
    per-query file edited by hand fails."""
    import json

    _submit(run_folder)
    (new,) = [p for p in (repo / "results").glob("*/*") if p.is_dir()
              and _git(repo, "status", "--porcelain", str(p))]
    assert "verified: true" in (new / "submission.yaml").read_text()
    _commit(repo)
    capsys.readouterr()
    assert main(["submit", "--check", "main"]) == 0
    assert "passed" in capsys.readouterr().out
    score = new / "MedTEB-Rerank.json"
    data = json.loads(score.read_text())
    claimed = data["scores"]["test"][0]["main_score"]
    data["scores"]["test"][0]["main_score"] = claimed + 0.01
    score.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    (new / "MedTEB-STS.per_query.jsonl").unlink()
    _commit(repo)
    assert main(["submit", "--check", "main"]) == 1
    err = capsys.readouterr().err
    found = re.search(rf"MedTEB-Rerank.json: claimed main score {claimed + 0.01:.6f} differs "
                      r"from (0\.\d{6}) given by MedTEB-Rerank.per_query.jsonl", err)
    assert found and float(found[1]) == pytest.approx(claimed, abs=1e-5), err
    assert "MedTEB-STS.json: declared verified, but no MedTEB-STS.per_query.jsonl holds its " \
           "per-query scores" in err



@pytest.fixture
def release_entry(tmp_path: Path) -> tuple[Path, Path]:
    """Release 2026.1 (the bundled sample's three MedTEB tasks) in a releases folder outside
    the checkout, and a run folder with an entry on it: the five tasks, each MedTEB task's
    dataset revision the one the release gives."""
    import datetime
    import json

    import mteb

    from medteb.benchmark.definitions import BENCHMARK_ORDER, NEW_TASKS
    from medteb.build.export import write_datasheet
    from medteb.release.create import create_release
    from medteb.results.layout import SUBMISSION_FILE
    from medteb.results.submit import DataContext
    from tests.conftest import ROOT
    from tests.results_helpers import five, write_entry

    public, releases = tmp_path / "public", tmp_path / "releases"
    for task in NEW_TASKS:
        shutil.copytree(ROOT / "tasks" / task / "sample", public / task)
    write_datasheet(public, {}, {"judges": []}, "2026-01-01")
    create_release(public, releases, "2026.1", today=datetime.date(2026, 1, 15))
    context = DataContext(None, str(releases))
    entry = write_entry(tmp_path / "run", "org/on-release", "v1", five(.5, .5, .5, .5, .5))
    (entry / SUBMISSION_FILE).unlink()  # as `medteb run` writes it
    for task in BENCHMARK_ORDER:
        path = entry / f"{task}.json"
        data = json.loads(path.read_text())
        data["dataset_revision"] = (context.task(task, "release:2026.1").metadata.revision
                                    if task in NEW_TASKS else mteb.get_task(task).metadata.revision)
        path.write_text(json.dumps(data, indent=2) + "\n")
    return releases, tmp_path / "run"


def test_a_release_entry_is_checked_against_the_releases_dir(
        repo: Path, release_entry: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    """An entry on a release is resubmitted against the release folder: found with
    ``--releases-dir``, missing (one line naming the flag) without it."""
    releases, run = release_entry
    monkeypatch.delenv("MEDTEB_RELEASES_DIR", raising=False)  # and no ./releases in the repo
    assert main(["submit", str(run), "--setting", "zero-shot", "--releases-dir",
                 str(releases)]) == 0
    _commit(repo)
    capsys.readouterr()
    assert main(["submit", "--check", "main", "--releases-dir", str(releases)]) == 0
    assert "against `main`: passed" in capsys.readouterr().out
    assert main(["submit", "--check", "main"]) == 1
    assert capsys.readouterr().err == (
        "medteb: results/org__on-release/v1: v1 (MedTEB-Rerank.json, MedTEB-Retrieval.json, "
        "MedTEB-STS.json): cannot read release 2026.1: ReleaseError: no release '2026.1' in "
        "releases. Releases there: none (the folder is --releases-dir, else "
        "MEDTEB_RELEASES_DIR, else ./releases)\n")
    monkeypatch.setenv("MEDTEB_RELEASES_DIR", str(releases))  # what CI may set instead
    assert main(["submit", "--check", "main"]) == 0


def _record(date: str, difference: float) -> dict:
    return {"date": date, "hardware": {"cpu_count": 2, "machine": "x86_64", "gpus": []},
            "versions": {"medteb": "0"}, "max_difference": difference,
            "tasks": ["MedTEB-STS"]}


def test_a_reproduction_record_of_an_existing_entry(repo: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    """`medteb reproduce` appends to an existing entry's reproductions.yaml; a pull request
    carrying it (and the board regenerated) passes, a forged or rewritten record does not."""
    import yaml

    from medteb.results.outputs import regenerate_leaderboard

    entry = sorted(p for p in (repo / "results").glob("*/*") if p.is_dir())[0]
    records = entry / "reproductions.yaml"
    records.write_text(yaml.safe_dump([_record("2026-12-01T10:00:00", 0.0004)]))
    _commit(repo)
    capsys.readouterr()
    assert main(["submit", "--check", "main"]) == 1  # the board was not regenerated
    assert capsys.readouterr().err == "medteb: leaderboard.md: differs from what `medteb " \
                                      "submit` writes (edited by hand?)\n"
    regenerate_leaderboard(repo / "results", repo / "leaderboard.md")
    assert "✓ 2026-12-01, CPU (2 cores, x86_64)" in (repo / "leaderboard.md").read_text()
    _commit(repo)
    assert main(["submit", "--check", "main"]) == 0
    assert "passed" in capsys.readouterr().out
    _git(repo, "checkout", "-qb", "pr2")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "branch", "-f", "main", "HEAD")
    records.write_text(yaml.safe_dump([_record("2026-11-30T10:00:00", 0.0004),
                                       _record("2026-12-02T10:00:00", 0.02)]))
    regenerate_leaderboard(repo / "results", repo / "leaderboard.md")
    _commit(repo)
    assert main(["submit", "--check", "main"]) == 1
    err = capsys.readouterr().err.splitlines()
    where = records.relative_to(repo).as_posix()
    assert err == [f"medteb: {where}: record 2 differs by 0.02 > 0.001: not a reproduction "
                   "(medteb reproduce records none)",
                   f"medteb: {where}: changes or removes earlier records (records are only "
                   "appended)"]
    records.write_text("- date: [\n")
    _commit(repo)
    assert main(["submit", "--check", "main"]) == 1
    assert f"medteb: {where}: not a valid reproductions file" in capsys.readouterr().err

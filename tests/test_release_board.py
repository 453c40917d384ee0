"""Releases on the board: results record their release, one board per release (latest by
default, ``--release V``), never ranked across releases; ``medteb run --release V``; submit
checks a release result's data revision against the release folder."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from medteb.benchmark.data.sources import release_of_revision
from medteb.cli import main
from medteb.errors import ResultsError
from medteb.release.create import create_release
from medteb.release.manifest import ReleaseError, release_folder
from medteb.results.layout import load_entries
from medteb.results.leaderboard import (
    UNRELEASED,
    Leaderboard,
    UnknownReleaseError,
    release_order,
)
from medteb.results.revisions import check_revisions
from medteb.results.submit import DataContext
from tests.results_helpers import five, write_entry
from tests.test_release import make_export

HASH = "0123456789abcdef"


def rev(version: str) -> str:
    return f"release-{version}-{HASH}"


def test_release_of_revision_parses_only_release_revisions() -> None:
    assert release_of_revision(rev("2026.1")) == "2026.1"
    assert release_of_revision(f"release-v-2-{HASH}-{HASH[::-1]}") == "v-2"  # two splits
    assert release_of_revision(f"local-{HASH}") is None
    assert release_of_revision(f"sample-{HASH}") is None
    assert release_of_revision("unreleased") is None
    assert release_of_revision("release-2026.1-nothex") is None


def test_release_order_is_natural_with_the_paper_first() -> None:
    assert release_order(["2026.10", "2026.2", UNRELEASED, "2026.2"]) == [
        UNRELEASED, "2026.2", "2026.10"]


@pytest.fixture
def three_releases(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    write_entry(root, "org/paper", "r1", five(.5, .5, .5, .5, .5))
    write_entry(root, "org/old", "r1", five(.9, .9, .9, .9, .9), data_revision=rev("2026.1"))
    write_entry(root, "org/new-a", "r1", five(.6, .6, .6, .6, .6), data_revision=rev("2026.2"))
    write_entry(root, "org/new-b", "r1", five(.7, .7, .7, .7, .7), data_revision=rev("2026.2"),
                setting="fine-tuned")
    write_entry(root, "org/smoke", "r1-sample", five(.1, .1, .1, .1, .1), setting="sample",
                data_revision=f"sample-{HASH}")
    return root


def _names(board: Leaderboard, setting: str) -> list[str]:
    return [r.model_name for r in board.board(setting).rows]


def test_entries_record_their_release(three_releases: Path) -> None:
    entries, _ = load_entries(three_releases)
    assert {e.model_name: e.release for e in entries} == {
        "org/paper": None, "org/old": "2026.1", "org/new-a": "2026.2", "org/new-b": "2026.2",
        "org/smoke": None}


def test_one_board_per_release_latest_by_default(three_releases: Path) -> None:
    entries, _ = load_entries(three_releases)
    latest = Leaderboard.from_entries(entries, figure=None)
    assert (latest.release, latest.releases) == ("2026.2", (UNRELEASED, "2026.1", "2026.2"))
    assert _names(latest, "zero-shot") == ["org/new-a"]  # org/old's 0.9 is on another release
    assert latest.board("zero-shot").ranks() == [1]
    assert _names(latest, "fine-tuned") == ["org/new-b"]
    assert _names(latest, "sample") == ["org/smoke"]  # the sample board is not a release's
    text = latest.to_markdown()
    assert "results on release 2026.2 (dataset revisions release-2026.2-…)" in text
    assert "Other releases with results: unreleased, 2026.1 (`medteb leaderboard" in text
    older = Leaderboard.from_entries(entries, figure=None, release="2026.1")
    assert _names(older, "zero-shot") == ["org/old"] and _names(older, "fine-tuned") == []
    assert "Other releases with results: unreleased, 2026.2" in older.to_markdown()
    paper = Leaderboard.from_entries(entries, figure=None, release=UNRELEASED)
    assert _names(paper, "zero-shot") == ["org/paper"]
    assert "the paper's test data (no versioned release)" in paper.to_markdown()
    with pytest.raises(UnknownReleaseError, match=r"no result in results/ is on release "
                       r"'2026\.3'\. Did you mean '2026\.2'\? Releases with results: "
                       r"unreleased, 2026\.1, 2026\.2$"):
        Leaderboard.from_entries(entries, release="2026.3")


def test_no_release_note_when_every_result_is_on_the_papers_data(tmp_path: Path) -> None:
    write_entry(tmp_path, "org/paper", "r1", five(.5, .5, .5, .5, .5))
    board = Leaderboard.from_entries(load_entries(tmp_path)[0], figure=None)
    assert board.release_note is None and "Release:" not in board.to_markdown()


def test_an_entry_mixing_releases_is_refused(tmp_path: Path) -> None:
    folder = write_entry(tmp_path, "org/mixed", "r1", five(.5, .5, .5, .5, .5),
                         data_revision=rev("2026.1"))
    sts = json.loads((folder / "MedTEB-STS.json").read_text())
    sts["dataset_revision"] = rev("2026.2")
    (folder / "MedTEB-STS.json").write_text(json.dumps(sts))
    with pytest.raises(ResultsError, match=r"org__mixed/r1: its tasks were read from different "
                       r"releases \(MedTEB-Rerank 2026\.1, MedTEB-Retrieval 2026\.1, MedTEB-STS "
                       r"2026\.2\); an entry is on one release"):
        load_entries(tmp_path)


def test_leaderboard_and_site_cli_choose_a_release(three_releases: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "lb.md"
    assert main(["leaderboard", "--results", str(three_releases), "--output", str(out),
                 "--no-figure", "--release", "2026.1"]) == 0
    assert "| old |" in out.read_text() and "| new-a |" not in out.read_text()
    assert main(["leaderboard", "--results", str(three_releases), "--output", str(out),
                 "--no-figure", "--release", "2025"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no result in results/ is on release '2025'" in err
    site = tmp_path / "site"
    assert main(["leaderboard", "--results", str(three_releases), "--html", str(site)]) == 0
    data = json.loads((site / "leaderboard.json").read_text())
    assert (data["release"], data["releases"]) == ("2026.2", [UNRELEASED, "2026.1", "2026.2"])
    assert [r["model_name"] for r in data["boards"]["zero-shot"]] == ["org/new-a"]
    page = (site / "index.html").read_text()
    assert '<p class="release">Release: the Zero-shot and Fine-tuned boards show' in page


DAY = datetime.date(2026, 1, 15)


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    export = make_export(tmp_path / "export", {
        "q1": ("感冒多久能好", "2025-06-01"), "q2": ("发烧怎么办", "2025-09-30")})
    root = tmp_path / "releases"
    create_release(export, root, "2026.1", today=DAY)
    return root


def test_release_folder_names_known_releases(releases: Path) -> None:
    assert release_folder(releases, "2026.1") == releases / "2026.1"
    with pytest.raises(ReleaseError, match=r"no release '2026\.2' in .*releases\. Did you mean "
                       r"'2026\.1'\? Releases there: 2026\.1 \(the folder is --releases-dir"):
        release_folder(releases, "2026.2")


def test_run_release_records_it_and_refuses_unknown_versions(
        releases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "-m", "bm25-zh", "-t", "MedTEB-Retrieval", "--release", "2026.1",
                 "--releases-dir", str(releases), "-v", "0"]) == 0
    (path,) = list((tmp_path / "runs").glob("*/*/MedTEB-Retrieval.json"))
    assert release_of_revision(json.loads(path.read_text())["dataset_revision"]) == "2026.1"
    capsys.readouterr()
    assert main(["run", "-m", "bm25-zh", "--release", "9.9", "--releases-dir",
                 str(releases)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no release '9.9'" in err and "Releases there: 2026.1" in err
    assert main(["run", "-m", "bm25-zh", "--release", "2026.1", "--data-dir", "sample"]) == 2
    assert "give --release V or --data-dir DIR, not both" in capsys.readouterr().err
    assert main(["run", "-m", "bm25-zh", "--releases-dir", str(releases)]) == 2
    assert "--releases-dir says where --release V is found" in capsys.readouterr().err


def test_submit_checks_a_release_result_against_the_release_folder(releases: Path) -> None:
    context = DataContext(None, str(releases))
    actual = context.task("MedTEB-Retrieval", "release:2026.1").metadata.revision
    assert release_of_revision(actual) == "2026.1"
    problems: list[str] = []
    check_revisions("e", {"MedTEB-Retrieval": actual}, False, context.task, problems)
    assert problems == []
    forged = rev("2026.1")  # the right release, other content
    check_revisions("e", {"MedTEB-Retrieval": forged}, False, context.task, problems)
    assert problems == [f"e/MedTEB-Retrieval.json: dataset revision {forged!r} is not the "
                        f"task's current revision {actual!r}; re-run on the current data"]
    problems.clear()
    check_revisions("e", {"MedTEB-Retrieval": rev("2027.1")}, False, context.task, problems)
    assert len(problems) == 1 and problems[0].startswith(
        "e/MedTEB-Retrieval.json: cannot read release 2027.1: ReleaseError: no release '2027.1'")
    problems.clear()
    check_revisions("e", {"MedTEB-Retrieval": actual, "MedTEB-Rerank": "unreleased"}, False,
                    context.task, problems)
    assert problems == ["e: mixes releases: MedTEB-Rerank on no release, MedTEB-Retrieval on "
                        "2026.1; run every MedTEB task on the same release (`medteb run "
                        "--release V`)"]

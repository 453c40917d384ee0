"""Training-data overlap on the board (issue 23): `medteb submit --contamination-report`
attaches an audit; each score whose task the audit found, or the declared training data names,
is marked, "unknown" when undeclared; the marks are explained in footnotes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from medteb.cli import main
from medteb.errors import ResultsError
from medteb.results.layout import load_entries
from medteb.results.leaderboard import Leaderboard
from medteb.results.overlap import AUDIT_FILE, read_audit, score_overlap
from tests.results_helpers import five, write_entry
from tests.test_submit import demo_run, folder_of, rejected, repo, run  # noqa: F401

ALL = ("CMedQAv1-reranking", "MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS")


def audit_json(path: Path, found: dict[str, dict]) -> Path:
    """A report as `medteb contamination --format json` writes it; ``found``: task -> kind ->
    match -> ids (the rest empty)."""
    tasks = {t: {k: {m: found.get(t, {}).get(k, {}).get(m, []) for m in ("exact", "near")}
                 for k in ("queries", "documents", "pairs")}
             for t in ("MedTEB-Retrieval", "MedTEB-Rerank", *found)}
    path.write_text(json.dumps({"tasks": tasks}, ensure_ascii=False))
    return path


def test_marks_from_the_audit_then_the_declaration(tmp_path: Path) -> None:
    audit = read_audit(audit_json(tmp_path / "a.json", {
        "MedTEB-Retrieval": {"pairs": {"near": [["q1", "d1"]]}}}))
    # Retrieval: found; Rerank: audited and clean; STS and CMedQA: not audited
    assert score_overlap(ALL, ["CMedQAv1-reranking", "MedTEB-Rerank"], audit) == {
        "CMedQAv1-reranking": "declared", "MedTEB-Retrieval": "audit",
        "MedTEB-Rerank": "declared"}
    assert score_overlap(ALL, None, audit) == {
        "CMedQAv1-reranking": "unknown", "MedTEB-Retrieval": "audit", "MedTEB-STS": "unknown"}
    assert score_overlap(ALL, [], None) == {}
    assert score_overlap(ALL, None, None) == dict.fromkeys(ALL, "unknown")
    assert score_overlap(["MedTEB-STS"], ["MedTEB-Retrieval"], None) == {}  # unscored task


def test_bad_reports_are_one_line_each(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ResultsError, match=r"bad\.json: not a readable contamination report"):
        read_audit(bad)
    bad.write_text(json.dumps({"tasks": {"MedTEB-STS": {"queries": {"exact": 3}}}}))
    with pytest.raises(ResultsError, match=r"bad\.json: not a contamination report \(tasks\."
                       r"MedTEB-STS\.queries\.exact: Input should be a valid list\); expected"):
        read_audit(bad)
    bad.write_text(json.dumps({"tasks": {"MedTEB-Foo": {}}}))
    with pytest.raises(ResultsError, match=r"bad\.json: unknown task\(s\) MedTEB-Foo; the "
                       r"report covers tasks of the benchmark"):
        read_audit(bad)
    with pytest.raises(ResultsError, match=r"missing\.json: not a readable contamination"):
        read_audit(tmp_path / "missing.json")


def test_board_marks_scores_and_explains_each_mark(tmp_path: Path) -> None:
    root = tmp_path / "results"
    write_entry(root, "org/clean", "r1", five(.5, .5, .5, .5, .5))
    audited = write_entry(root, "org/audited", "r1", five(.6, .6, .6, .6, .6))
    audit_json(audited / AUDIT_FILE, {"MedTEB-STS": {"queries": {"exact": ["s1"]}}})
    undeclared = write_entry(root, "org/undeclared", "r1", five(.4, .4, .4, .4, .4))
    sub = yaml.safe_load((undeclared / "submission.yaml").read_text())
    (undeclared / "submission.yaml").write_text(yaml.safe_dump({**sub,
                                                               "training_datasets": None}))
    entries, _ = load_entries(root)
    text = Leaderboard.from_entries(entries, figure=None).to_markdown()
    rows = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| ")
            and "org" not in line and "Rank" not in line}
    assert "| **60.00** ◆ | **60.00** |" in rows["audited"]  # STS marked, Avg not
    assert rows["audited"].count("◆") == 1
    assert "◆" not in rows["clean"] and "?" not in rows["clean"]
    assert rows["undeclared"].count(" ?") == 5
    assert "◆ found in the model's training data by a contamination audit" in text
    assert "? the model's training data is not declared and no audit covers this task" in text
    assert "◇" not in text  # no declared overlap on this board: no footnote for it
    data = Leaderboard.from_entries(entries, figure=None).to_dict()["zero-shot"]
    assert {r["model_name"]: r["training_overlap"] for r in data}["org/audited"] == {
        "MedTEB-STS": "audit"}


def test_submit_attaches_the_audit(repo: Path, run: Path,  # noqa: F811
                                   capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    report = audit_json(tmp_path / "audit.json", {
        "MedTEB-Rerank": {"documents": {"near": ["d3"]}}})
    assert main(["submit", str(run), "--contamination-report", str(report)]) == 0
    stored = folder_of(repo / "results")
    assert read_audit(stored / AUDIT_FILE) == read_audit(report)
    text = (repo / "leaderboard.md").read_text()
    (row,) = [line for line in text.splitlines() if "medteb/bm25-zh" in line]
    assert row.count("◆") == 1 and "◆ found in the model's training data" in text


def test_submit_refuses_a_bad_report(repo: Path, run: Path,  # noqa: F811
                                     capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    bad = tmp_path / "audit.json"
    bad.write_text(json.dumps({"tasks": {"MedTEB-Foo": {}}}))
    err = rejected(repo, capsys, str(run), "--contamination-report", str(bad))
    assert "audit.json: unknown task(s) MedTEB-Foo" in err


def test_reproduced_on_the_board_from_reproductions_yaml(tmp_path: Path) -> None:
    from medteb.results.reproductions import REPRODUCTIONS_FILE, Reproduction

    root = tmp_path / "results"
    write_entry(root, "org/plain", "r1", five(.5, .5, .5, .5, .5))
    again = write_entry(root, "org/again", "r1", five(.6, .6, .6, .6, .6))
    record = {"hardware": {"platform": "Linux", "machine": "x86_64", "python": "3.11",
                           "cpu_count": 16, "device": "auto", "gpus": []},
              "versions": {"medteb": "0.1"}, "max_difference": 0.0002, "tasks": ["MedTEB-STS"]}
    gpu = {**record["hardware"], "gpus": ["NVIDIA H200", "NVIDIA H200"]}
    (again / REPRODUCTIONS_FILE).write_text(yaml.safe_dump([
        Reproduction(date="2026-12-03T20:00:00+00:00", **record).model_dump(),
        Reproduction(date="2026-12-05T08:00:00+00:00", **{**record, "hardware": gpu}
                     ).model_dump()]))
    entries, _ = load_entries(root)
    board = Leaderboard.from_entries(entries, figure=None)
    text = board.to_markdown()
    (row,) = [line for line in text.splitlines() if "| again |" in line]
    assert row.endswith("| reported [1] | ✓ 2026-12-05, 2x NVIDIA H200 | – |")
    (plain,) = [line for line in text.splitlines() if "| plain |" in line]
    assert plain.endswith("| reported [1] | – | – |")
    data = {r["model_name"]: r for r in board.to_dict()["zero-shot"]}
    assert (data["org/again"]["reproduced_on"], data["org/again"]["reproduced_hardware"]) == (
        "2026-12-05", "2x NVIDIA H200")
    (again / REPRODUCTIONS_FILE).write_text(yaml.safe_dump([{**record}]))  # no date
    with pytest.raises(ResultsError, match=r"reproductions\.yaml: not a valid reproductions "
                       r"file \(date: Field required\)"):
        load_entries(root)
    (again / REPRODUCTIONS_FILE).write_text("{}")
    with pytest.raises(ResultsError, match=r"not a valid reproductions file \(expected a list"):
        load_entries(root)

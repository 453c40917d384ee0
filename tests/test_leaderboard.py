"""``medteb leaderboard``: golden file from a fixture results/, figure, speed schema, freshness."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medteb.benchmark.definitions import mean
from medteb.cli import main
from medteb.errors import ResultsError
from medteb.results.layout import load_entries, read_speed
from medteb.results.leaderboard import Leaderboard, format_params
from tests.conftest import ROOT
from tests.results_helpers import five, write_entry

FIXTURES = Path(__file__).parent / "fixtures"


def test_golden_leaderboard_from_fixture_results(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "leaderboard.md"
    assert main(["leaderboard", "--results", str(FIXTURES / "results"), "--output", str(out),
                 "--no-figure"]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    # Regenerate with: medteb leaderboard --results tests/fixtures/results
    #   --output tests/fixtures/leaderboard.md --no-figure
    assert out.read_text(encoding="utf-8") == (FIXTURES / "leaderboard.md").read_text("utf-8")


def test_golden_content_by_hand() -> None:
    text = (FIXTURES / "leaderboard.md").read_text("utf-8")
    # delta: (78 + 80 + 52 + 62 + 72) / 5 = 68.80, best Avg; ties share a mark (Rerank 60.00).
    # delta has per-query files: each score shows its 95% interval, and a rank interval
    assert "| 1 | delta | 568M / 568M | 78.00 [75.10, 80.90] | 80.00 [77.22, 82.78] | <u>52.00 [46.24, 57.64]</u> | **62.00 [56.82, 67.16]** | <u>72.00 [61.69, 80.16]</u> | **68.80 [66.20, 71.16]** | 79.00 [77.00, 81.01] | **62.00 [57.87, 65.70]** | – | reported [1] | – | – | 1–2 |" in text
    assert "| 3 | gamma | 1.78B / 1.78B | **90.00** | <u>86.00</u> | 45.00 | <u>60.00</u> |" in text
    # a missing task: "–", no average, no rank; markup in a name is escaped.
    assert "| – | epsilon &lt;b&gt;\\|x&lt;/b&gt; | 100M / 100M | **90.00** | **90.00** | **60.00** | – | – | – |" in text
    assert "| 2 | alpha | 24M / 24M |" in text and "| 1520.2 (a) |" in text
    assert "(a) QPS measured on 1x NVIDIA A100 80GB, batch 32" in text
    assert "| 1 | zeta† | 305M / 4.02B |" in text and "| 2 | eta-ft | – / – |" in text
    # settings are separate boards, in a fixed order
    assert text.index("## Zero-shot") < text.index("## Fine-tuned") < text.index("## Sample")


def test_output_is_deterministic_and_figure_written(tmp_path: Path) -> None:
    results = FIXTURES / "results"
    first, second = tmp_path / "a" / "leaderboard.md", tmp_path / "b" / "leaderboard.md"
    for out in (first, second):
        assert main(["leaderboard", "--results", str(results), "--output", str(out)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert "![Average score against query-encoder parameters](leaderboard.png) ([SVG](leaderboard.svg))" in first.read_text()
    png = (first.parent / "leaderboard.png").read_bytes()
    svg = (first.parent / "leaderboard.svg").read_bytes()
    assert png.startswith(b"\x89PNG") and b"<svg" in svg
    assert svg == (second.parent / "leaderboard.svg").read_bytes()


def test_committed_leaderboard_matches_results(tmp_path: Path) -> None:
    out = tmp_path / "leaderboard.md"
    assert main(["leaderboard", "--results", str(ROOT / "results"), "--output", str(out),
                 "--no-figure"]) == 0
    committed = (ROOT / "leaderboard.md").read_text("utf-8")
    expected = out.read_text("utf-8").replace(
        "\n\n## Zero-shot", "\n\n![Average score against query-encoder parameters]"
        "(leaderboard.png) ([SVG](leaderboard.svg))\n\n## Zero-shot", 1)
    assert committed == expected, "run `medteb leaderboard` and commit leaderboard.md"


def test_paper_tables_on_the_seeded_results() -> None:
    text = (ROOT / "leaderboard.md").read_text("utf-8")
    # Table 9 (zero-shot) and Table 3 (fine-tuned), the latter's Avg column reproduced
    assert "| 1 | Qwen3-Embedding-8B | 7.57B / 7.57B | 86.13 | 86.39 ◇ | **51.15** |" in text
    # ◇: the declared training data names the task (fine-tuned: MedTEB's training splits)
    assert "| 1 | MAR-0.3B-8B† | 305M / 8.19B | <u>88.34</u> ◇ | **88.86** ◇ | **56.75** ◇ | **73.67** ◇ | <u>87.07</u> ◇ | **78.94** |" in text
    assert "| 13 | bge-small-zh-v1.5 | 24M / 24M | 80.21 ◇ | 81.69 ◇ | 44.33 ◇ | 62.30 ◇ | 70.50 ◇ | 67.81 |" in text
    assert "14 models, 14 with all five tasks." in text and "13 models, 13 with all five tasks." in text
    assert ("reported in the CMedTEB paper (CMedTEB &amp; CARE, ACL 2026), Table 9 of its first "
            "version (MedTEB and MAR, ICLR 2026 submission)") in text


def test_helpers() -> None:
    assert [format_params(n) for n in (24_000_000, 4_020_000_000, 0, None)] == \
        ["24M", "4.02B", "0", "–"]
    assert mean([0.5, None]) is None and mean([]) is None and mean([0.2, 0.4]) == pytest.approx(0.3)


def test_unsubmitted_folder_is_skipped_with_reason(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    folder = write_entry(tmp_path / "results", "org/m", "r1", five(.8, .8, .5, .6, .7))
    (folder / "submission.yaml").unlink()
    entries, skipped = load_entries(tmp_path / "results")
    assert entries == [] and skipped == [
        "org__m/r1: no submission.yaml (add results with `medteb submit`)"]
    # beside a submitted entry, it is a results folder: the run is passed over, and said so
    write_entry(tmp_path / "results", "org/n", "r1", five(.7, .7, .5, .6, .7))
    assert main(["leaderboard", "--results", str(tmp_path / "results"), "--output",
                 str(tmp_path / "lb.md"), "--no-figure"]) == 0
    assert "medteb: skipped org__m/r1: no submission.yaml" in capsys.readouterr().err
    assert "(not submitted)" not in (tmp_path / "lb.md").read_text(encoding="utf-8")
    # alone, it is a folder of runs: a private board (tests/test_runboard.py)
    (tmp_path / "results" / "org__n" / "r1" / "submission.yaml").unlink()
    assert main(["leaderboard", "--results", str(tmp_path / "results"), "--output",
                 str(tmp_path / "lb.md"), "--no-figure"]) == 0
    assert "| org/m (not submitted) |" in (tmp_path / "lb.md").read_text(encoding="utf-8")


def test_broken_records_are_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = write_entry(tmp_path / "results", "org/m", "r1", five(.8, .8, .5, .6, .7))
    (folder / "submission.yaml").write_text("setting: best-effort\n")
    with pytest.raises(ResultsError, match=r"submission.yaml: setting: Input should be 'zero-shot', 'fine-tuned' or 'sample'"):
        load_entries(tmp_path / "results")
    assert main(["leaderboard", "--results", str(tmp_path / "results")]) == 2
    assert "medteb: error: " in capsys.readouterr().err
    with pytest.raises(ResultsError, match="results folder 'nowhere' does not exist"):
        load_entries("nowhere")


def test_speed_schema(tmp_path: Path) -> None:
    folder = write_entry(tmp_path, "org/m", "r1", five(.8, .8, .5, .6, .7),
                         speed={"qps": 850.0, "batch_size": 32, "hardware": "1x A100",
                                "p50_ms": 1.2})
    speed = read_speed(folder)
    assert speed.measurement.qps == 850.0 and speed.measurement.hardware == "1x A100"
    data = json.loads((folder / "MedTEB-Speed.json").read_text())
    del data["scores"]["test"][0]["hardware"]
    (folder / "MedTEB-Speed.json").write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=r"MedTEB-Speed.json: not a valid MedTEB-Speed record: scores.test.0.hardware: Field required"):
        read_speed(folder)
    assert read_speed(tmp_path) is None


def test_mteb_loaders_still_read_the_folder(tmp_path: Path) -> None:
    from mteb.cache import ResultCache

    shutil.copytree(FIXTURES / "results", tmp_path / "results")
    loaded = ResultCache(tmp_path).load_results()  # submission.yaml, MedTEB-Speed.json present
    names = {r.model_name for r in loaded.model_results}
    assert "org-a/alpha" in names and len(names) == 8


def test_to_dict() -> None:
    entries, _ = load_entries(FIXTURES / "results")
    data = Leaderboard.from_entries(entries).to_dict()
    assert list(data) == ["zero-shot", "fine-tuned", "sample"]
    top = data["zero-shot"][0]
    assert top["model"] == "delta" and top["Avg"] == pytest.approx(68.8)
    assert data["zero-shot"][-1]["Avg"] is None


def test_citations() -> None:
    import mteb
    import yaml

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text("utf-8"))
    assert cff["preferred-citation"]["title"].startswith("CMedTEB & CARE")
    assert cff["preferred-citation"]["url"] == "https://arxiv.org/abs/2604.10937"
    assert cff["references"][0]["title"].startswith("MedTEB and MAR")
    assert [r["notes"] for r in cff["references"][1:]] == ["CMedQAv1-reranking", "CMedQAv2-reranking"]
    readme = (ROOT / "README.md").read_text("utf-8")
    from medteb.benchmark.citation import BENCHMARK_CITATION

    assert BENCHMARK_CITATION in readme  # the README cites exactly what mteb's metadata carries
    authors = [f"{a['given-names']} {a['family-names']}" for a in cff["preferred-citation"]["authors"]]
    assert authors[0] == "Angqing Jiang" and len(authors) == 7
    assert "author = {Jiang, Angqing and Chen, Jianlyu" in BENCHMARK_CITATION
    for task in mteb.get_benchmark("MedTEB").tasks:  # each task's citation in its metadata
        assert task.metadata.bibtex_citation and "@" in task.metadata.bibtex_citation
        if task.metadata.name.startswith("MedTEB-"):  # ours: both papers, as the README
            assert task.metadata.bibtex_citation.strip() == BENCHMARK_CITATION

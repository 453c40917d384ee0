"""``medteb report correlation``: the paper's Table 2 on the seeded numbers, scipy on fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from medteb.cli import main
from medteb.errors import MedtebError
from medteb.results.correlation import correlation_report
from medteb.results.layout import load_entries
from tests.conftest import copy_seeded_results
from tests.results_helpers import five, write_entry

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's seeded results/ (whatever a user has run or submitted)."""
    return copy_seeded_results(tmp_path_factory.mktemp("repo"))


def test_paper_table2_from_seeded_results(seeded: Path, capsys: pytest.CaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(seeded.parent)
    assert main(["report", "correlation"]) == 0  # defaults: results/, zero-shot, markdown
    out = capsys.readouterr().out
    assert "14 models with all five tasks." in out
    assert "| CMedQA | 85.15 | 0.354 (0.215) |" in out
    assert "| New Tasks | 57.85 | |" in out
    assert "- Spearman's rho = 0.354, p = 0.215" in out
    assert "Skipped:" not in out


def test_json_format_and_setting(seeded: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", "correlation", "--format", "json", "--results", str(seeded),
                 "--setting", "zero-shot"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_models"] == 14 and data["skipped"] == []
    assert round(data["spearman"]["rho"], 3) == 0.354
    assert round(data["spearman"]["p_value"], 3) == 0.215
    assert data["spearman"]["resamples"] == 10_000 and data["spearman"]["seed"] == 0
    low, high = data["spearman"]["bootstrap_ci"]
    assert low < data["spearman"]["rho"] < high
    assert data["task_spearman"]["tasks"][0] == "CMedQAv1-reranking"


def test_against_scipy_on_fixture_numbers() -> None:
    entries, _ = load_entries(FIXTURES / "results")
    report = correlation_report(entries, "zero-shot")
    names = [m.name for m in report.models]
    assert names == ["alpha", "beta", "delta", "gamma"]  # by name; epsilon lacks two tasks
    assert report.skipped == (("epsilon <b>|x</b>", "no result for MedTEB-Rerank, MedTEB-STS"),)
    # the fixture's averages, by hand (0–100): CMedQA (v1 + v2) / 2, new (R + Rr + S) / 3
    cmedqa = [81.0, 84.5, 79.0, 88.0]
    new = [60.0, (40 + 55 + 75) / 3, 62.0, (45 + 60 + 60) / 3]
    assert [m.cmedqa_avg for m in report.models] == pytest.approx(cmedqa)
    assert [m.new_avg for m in report.models] == pytest.approx(new)
    rho, p = stats.spearmanr(cmedqa, new)
    tau, tau_p = stats.kendalltau(cmedqa, new)
    assert (report.spearman_rho, report.spearman_p) == pytest.approx((rho, p))
    assert (report.kendall_tau, report.kendall_p) == pytest.approx((tau, tau_p))
    # ranks (2, 3, 1, 4) vs (3, 2, 4, 1): sum d^2 = 20, rho = 1 - 6 * 20 / (4 * 15) = -1
    assert report.spearman_rho == pytest.approx(-1.0)
    tasks = np.array([[.80, .82, .50, .60, .70], [.85, .84, .40, .55, .75],
                      [.78, .80, .52, .62, .72], [.90, .86, .45, .60, .60]])
    assert np.array(report.task_matrix) == pytest.approx(stats.spearmanr(tasks).statistic)
    text = report.to_markdown()
    assert "Skipped:\n- epsilon <b>|x</b>: no result for MedTEB-Rerank, MedTEB-STS" in text


def test_bootstrap_matches_a_plain_loop_and_is_reproducible(seeded: Path) -> None:
    entries, _ = load_entries(seeded)
    report = correlation_report(entries)
    assert correlation_report(entries) == report  # fixed seed
    x = np.array([m.cmedqa_avg for m in report.models])
    y = np.array([m.new_avg for m in report.models])
    rng = np.random.default_rng(0)
    index = rng.integers(0, len(x), size=(10_000, len(x)))
    loop = [stats.spearmanr(x[i], y[i]).statistic for i in index[:300]]
    vectorised = _rhos(x, y, index[:300])
    assert vectorised == pytest.approx(np.array(loop), nan_ok=True)
    assert report.ci_low < report.spearman_rho < report.ci_high
    assert report.resamples_used <= 10_000


def _rhos(x: np.ndarray, y: np.ndarray, index: np.ndarray) -> np.ndarray:
    rx, ry = stats.rankdata(x[index], axis=1), stats.rankdata(y[index], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))


def test_too_few_models(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_entry(tmp_path, "org/a", "r", five(.8, .8, .5, .6, .7))
    write_entry(tmp_path, "org/b", "r", five(.7, .8, .5, .6, .7), setting="fine-tuned")
    with pytest.raises(MedtebError, match=r"the 'zero-shot' setting has 1 model\(s\) with all five tasks; a rank correlation needs at least 3"):
        correlation_report(load_entries(tmp_path)[0])
    assert main(["report", "correlation", "--results", str(tmp_path)]) == 2
    assert "medteb: error: the 'zero-shot' setting has 1 model(s)" in capsys.readouterr().err


def _run_folder(root: Path, name: str, scores: dict[str, float], sample: bool = False) -> Path:
    """A model folder as `medteb run` writes it: no submission.yaml, so no setting."""
    folder = write_entry(root, name, "rev1", scores)
    (folder / "submission.yaml").unlink()
    if sample:
        for task in ("MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"):
            path = folder / f"{task}.json"
            path.write_text(path.read_text().replace('"unreleased"', '"sample-0123abcd"'))
    return folder


@pytest.mark.parametrize("mteb_layout", [False, True])
def test_results_without_a_setting_are_their_own_group(
        tmp_path: Path, capsys: pytest.CaptureFixture, mteb_layout: bool) -> None:
    root = tmp_path / "run"
    models = root / "results" if mteb_layout else root  # mteb's ResultCache has a results/ level
    _run_folder(models, "org/a", five(.80, .82, .50, .60, .70))
    _run_folder(models, "org/b", five(.85, .84, .40, .55, .75))
    _run_folder(models, "org/c", five(.78, .80, .52, .62, .72))
    _run_folder(models, "org/d", five(.70, .70, .30, .30, .30), sample=True)
    _run_folder(models, "org/e", {"MedTEB-STS": .5})
    assert main(["report", "correlation", "--results", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Rank correlation: CMedQA vs MedTEB's new tasks (undeclared: "
                          "results that declare no setting (not added with `medteb submit`); "
                          "zero-shot and fine-tuned models may be mixed)\n\n3 models with all "
                          "five tasks.")
    assert "| org/a | 81.00 | 60.00 |" in out and "org/d" not in out.split("Skipped:")[0]
    assert "- org/e: no result for CMedQAv1-reranking" in out
    # the sample result is filed as `medteb submit` would: in the sample group
    assert main(["report", "correlation", "--results", str(root), "--setting", "sample"]) == 2
    assert ("the 'sample' setting has 1 model(s) with all five tasks; a rank correlation needs "
            "at least 3; other groups here: undeclared (--setting)") in capsys.readouterr().err


def test_undeclared_group_is_reported_like_a_board(tmp_path: Path) -> None:
    from medteb.results.layout import load_run_entries

    for i, scores in enumerate([five(.8, .8, .5, .6, .7), five(.9, .9, .4, .5, .6),
                                five(.7, .7, .6, .7, .8)]):
        write_entry(tmp_path / "declared", f"org/m{i}", "r", scores)
        _run_folder(tmp_path / "run", f"org/m{i}", scores)
    declared = correlation_report(load_entries(tmp_path / "declared")[0])
    undeclared = correlation_report(load_run_entries(tmp_path / "run"), setting="undeclared")
    assert undeclared.spearman_rho == declared.spearman_rho == pytest.approx(-1.0)
    assert [m.name for m in undeclared.models] == ["org/m0", "org/m1", "org/m2"]
    assert load_entries(tmp_path / "run")[0] == []  # the leaderboard still ignores them

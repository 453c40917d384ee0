"""Per-query files stored by ``medteb submit --predictions``, and the board's intervals, rank
intervals and ties with the first (``results/board.py``, ``results/board_stats.py``)."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from medteb.analysis.perquery import SUFFIX, PerQuery, read_per_query
from medteb.analysis.run_intervals import HOW_TO_GET_CI
from medteb.analysis.runs import load_run
from medteb.cli import main
from medteb.errors import ResultsError
from medteb.results.board import BoardView
from medteb.results.board_stats import board_stats, entry_per_query
from medteb.results.layout import load_entries
from medteb.results.leaderboard import Leaderboard
from tests.conftest import copy_seeded_results
from tests.results_helpers import MAIN_SCORES, five, write_entry, write_per_query

FIXTURES = Path(__file__).parent / "fixtures"
TASKS = list(MAIN_SCORES)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline demo run (bm25-zh on the sample) with its predictions; its printed run
    table in ``table.md``."""
    folder = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["run", "--output-folder", str(folder / "run"), "--prediction-folder",
                     str(folder / "predictions"), "-v", "0"]) == 0
    (folder / "table.md").write_text(out.getvalue())
    return folder


def test_the_run_table_shows_each_scores_interval(demo: Path) -> None:
    table = (demo / "table.md").read_text()
    assert "| Task | Metric | Score | 95% CI | Data |" in table and HOW_TO_GET_CI not in table
    (preds,) = (demo / "predictions").rglob("MedTEB-Retrieval_predictions.json")
    per_query = load_run(preds.parent, "sample").scores["MedTEB-Retrieval"]
    reference = scipy_stats.bootstrap((per_query.values,), np.mean, n_resamples=10_000,
                                      method="percentile",
                                      random_state=np.random.default_rng(1)).confidence_interval
    row = next(line for line in table.splitlines() if line.startswith("| MedTEB-Retrieval"))
    lo, hi = (float(x) for x in row.split("|")[4].strip(" []").split(", "))
    assert lo == pytest.approx(100 * reference.low, abs=1.0)  # Monte Carlo error, 0-100
    assert hi == pytest.approx(100 * reference.high, abs=1.0)
    assert lo < 100 * per_query.score < hi
    assert "| **Avg** | | – | – |" in table  # CMedQA not run offline: no Avg, no interval
    assert "| **New-task avg** | | 55.81 | [" in table


def test_the_run_table_says_how_to_get_intervals(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "--output-folder", str(tmp_path), "--tasks", "MedTEB-STS",
                 "-v", "0"]) == 0
    out = capsys.readouterr().out
    assert "| Task | Metric | Score | Data |" in out and HOW_TO_GET_CI in out


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    copy_seeded_results(root)
    monkeypatch.chdir(root)
    return root


def test_submit_stores_per_query_files(repo: Path, demo: Path) -> None:
    assert main(["submit", str(demo / "run"), "--predictions", str(demo / "predictions")]) == 0
    (entry,) = [e for e in load_entries(repo / "results")[0] if entry_per_query(e)]
    stored = entry_per_query(entry)
    assert sorted(stored) == ["MedTEB-Rerank", "MedTEB-Retrieval", "MedTEB-STS"]
    for task, per_query in stored.items():
        # the stored per-query scores give the entry's main score (mean, or Pearson for STS)
        assert per_query.score == pytest.approx(entry.scores[task], abs=1e-5), task
        assert per_query.model == entry.model_name and per_query.model_revision == \
            entry.revision
        assert (repo / "results" / entry.folder / f"{task}{SUFFIX}").stat().st_size < 50_000
    board = (repo / "leaderboard.md").read_text().split("## Sample")[1]
    # intervals on its scores; no rank interval (no Avg: the sample has three tasks)
    assert "| Rank 95% |" in board and "| **79.09 [" in board and "| **55.81 [" in board
    assert "§" not in board  # its only entry has per-query data


def test_submit_without_predictions_stores_none(repo: Path, demo: Path) -> None:
    assert main(["submit", str(demo / "run")]) == 0
    assert not list((repo / "results").rglob(f"*{SUFFIX}"))
    board = (repo / "leaderboard.md").read_text().split("## Sample")[1]
    assert "Rank 95%" not in board and "§ No entry here has per-query data" in board


def test_per_query_files_at_the_papers_sizes_are_small(tmp_path: Path) -> None:
    """1,128 queries and 5,000 STS pairs, full-precision values: far under 1 MB per task."""
    rng = np.random.default_rng(0)
    ranking = PerQuery("MedTEB-Retrieval", "ndcg_at_10", "rev", "org/m", "r1",
                       tuple(f"query-{i:05d}" for i in range(1128)), rng.uniform(size=1128))
    sts = PerQuery("MedTEB-STS", "cosine_pearson", "rev", "org/m", "r1",
                   tuple(str(i) for i in range(5000)), rng.uniform(size=5000),
                   gold=rng.uniform(size=5000))
    for per_query, limit in ((ranking, 40_000), (sts, 160_000)):
        path = tmp_path / f"{per_query.task}{SUFFIX}"
        path.write_text(per_query.to_json())
        assert path.stat().st_size < limit < 1_000_000
        back = read_per_query(path)
        assert back.ids == per_query.ids
        np.testing.assert_allclose(back.values, per_query.values, rtol=1e-6)
        assert back.score == pytest.approx(per_query.score, abs=1e-6)


def _board(results: Path, setting: str = "zero-shot") -> BoardView:
    entries, _ = load_entries(results)
    return BoardView.of(Leaderboard.from_entries(entries, figure=None).board(setting))


def _cells(view: BoardView, model: str) -> dict[str, object]:
    (row,) = [r for r in view.rows if r.row.model_name == model]
    return {c.label: cell for c, cell in zip(view.columns, row.cells, strict=True)}


def test_task_interval_agrees_with_scipy_bootstrap() -> None:
    view = _board(FIXTURES / "results")
    delta = _cells(view, "org-d/delta")
    values = read_per_query(FIXTURES / "results/org-d__delta/r1/MedTEB-Retrieval"
                            f"{SUFFIX}").values
    reference = scipy_stats.bootstrap((values,), np.mean, n_resamples=10_000, method="percentile",
                                      random_state=np.random.default_rng(1)).confidence_interval
    lo, hi = view.stats.ci[(0, "Retrieval")]
    assert lo == pytest.approx(reference.low, abs=0.005)  # Monte Carlo error
    assert hi == pytest.approx(reference.high, abs=0.005)
    assert delta["Retrieval"].text == f"52.00 [{100 * lo:.2f}, {100 * hi:.2f}]"
    assert delta["Retrieval"].short == "52.00" and delta["Retrieval"].mark == "second"


def test_copied_entries_have_no_interval_and_are_never_marked() -> None:
    view = _board(FIXTURES / "results")
    for model in ("org-c/gamma", "org-b/beta", "org-e/epsilon"):
        cells = _cells(view, model)
        assert cells["Rank 95%"].text == "–" and cells["Rank 95%"].note is None
        assert "[" not in cells["Avg"].text
    assert view.stats.ranked == 2  # delta and alpha only
    assert _cells(view, "org-d/delta")["Rank 95%"].note is None  # the first itself
    assert _cells(view, "org-a/alpha")["Rank 95%"].note == "≈"
    assert view.footnotes()[-1][1].startswith("3 of 5 entries have no per-query data")


def _pair(tmp_path: Path, second: dict[str, float]) -> Path:
    results = tmp_path / "results"
    first = five(0.80, 0.80, 0.50, 0.60, 0.70)
    for name, scores, seed in (("org/a", first, 1), ("org/b", second, 1)):
        folder = write_entry(results, name, "r1", scores)
        write_per_query(folder, scores, seed=seed, n=200)
    return results


def test_identical_runs_are_tied_and_one_better_everywhere_is_separated(tmp_path: Path) -> None:
    same = _board(_pair(tmp_path / "same", five(0.80, 0.80, 0.50, 0.60, 0.70)))
    assert [r.cells[-1].text for r in same.rows] == ["1", "1"]  # equal scores share rank 1
    assert [r.cells[-1].note for r in same.rows] == [None, "≈"]
    # the same noise shifted down by 0.05 on every query: worse on every query
    worse = _board(_pair(tmp_path / "worse", five(0.75, 0.75, 0.45, 0.55, 0.65)))
    assert [r.cells[-1].text for r in worse.rows] == ["1", "2"]
    assert [r.cells[-1].note for r in worse.rows] == [None, None]


def test_the_board_is_the_same_every_time_and_the_seed_matters() -> None:
    entries, _ = load_entries(FIXTURES / "results")
    first = Leaderboard.from_entries(entries, figure=None).to_markdown()
    assert Leaderboard.from_entries(entries, figure=None).to_markdown() == first
    rows = [entry_per_query(e) for e in entries if e.setting == "zero-shot"]
    rows = [r for r in rows if r]
    columns = dict(zip(TASKS, ("CMedQA-v1", "CMedQA-v2", "Retrieval", "Rerank", "STS"),
                       strict=True))
    assert board_stats(rows, columns, seed=0).ci == board_stats(rows, columns, seed=0).ci
    assert board_stats(rows, columns, seed=1).ci != board_stats(rows, columns, seed=0).ci


def test_entries_on_other_data_get_no_interval(tmp_path: Path) -> None:
    results = _pair(tmp_path, five(0.80, 0.80, 0.50, 0.60, 0.70))
    other = write_entry(results, "org/c", "r1", five(0.80, 0.80, 0.50, 0.60, 0.70))
    write_per_query(other, five(0.80, 0.80, 0.50, 0.60, 0.70), seed=3, n=150)  # other queries
    view = _board(results)
    assert view.stats.ranked == 2
    cells = _cells(view, "org/c")
    assert cells["Rank 95%"].text == "–" and "[" not in cells["Retrieval"].text
    assert view.footnotes()[-1][1].startswith("1 of 3 entries have no per-query data")


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(values=[v + 0.1 for v in d["values"]]),
     r"per-query scores give 0\.600000, but MedTEB-Retrieval\.json says 0\.500000; resubmit"),
    (lambda d: d.update(task="MedTEB-Rerank"),
     r"per-query scores of MedTEB-Rerank, but the entry has no MedTEB-Retrieval\.json score"),
    (lambda d: d.update(values=d["values"][:-1]),
     r"not a readable per-query file|199 values for 200 queries"),
])
def test_inconsistent_per_query_files_are_errors(tmp_path: Path, change, message: str) -> None:
    results = _pair(tmp_path, five(0.80, 0.80, 0.50, 0.60, 0.70))
    path = results / "org__a/r1" / f"MedTEB-Retrieval{SUFFIX}"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=message):
        Leaderboard.from_entries(load_entries(results)[0])


def test_a_per_query_file_without_its_result_is_an_error(tmp_path: Path) -> None:
    results = _pair(tmp_path, five(0.80, 0.80, 0.50, 0.60, 0.70))
    (results / "org__a/r1/MedTEB-STS.json").unlink()
    with pytest.raises(ResultsError, match=r"MedTEB-STS.per_query.jsonl: per-query scores of "
                                           r"MedTEB-STS, but the entry has no MedTEB-STS\.json"):
        Leaderboard.from_entries(load_entries(results)[0])
    shutil.rmtree(results)


def test_compare_reads_leaderboard_entries_with_per_query_files(
        capsys: pytest.CaptureFixture[str]) -> None:
    results = FIXTURES / "results"
    assert main(["compare", str(results / "org-d__delta/r1"), str(results / "org-a__alpha/r1"),
                 "--resamples", "2000", "--format", "json"]) == 0
    tasks = json.loads(capsys.readouterr().out)["tasks"]
    assert set(tasks) == set(TASKS)
    assert tasks["MedTEB-Retrieval"]["a"] == pytest.approx(0.52, abs=1e-6)  # delta's score
    assert tasks["MedTEB-Retrieval"]["b"] == pytest.approx(0.50, abs=1e-6)  # alpha's
    assert tasks["MedTEB-STS"]["delta"] == pytest.approx(0.02, abs=1e-5)
    # a copied entry has no per-query data: one line saying how to get it
    assert main(["compare", str(results / "org-d__delta/r1"),
                 str(results / "org-b__beta/r1")]) == 2
    assert "no predictions or per-query files" in capsys.readouterr().err


def test_page_statistics_only_where_entries_have_per_query_data() -> None:
    from medteb.results.site_stats import stats_html

    entries, _ = load_entries(FIXTURES / "results")
    board = Leaderboard.from_entries(entries, figure=None)
    assert stats_html(board.board("sample")) == ""  # no per-query data
    zero_shot = stats_html(board.board("zero-shot"))
    assert zero_shot.count('<table class="pairwise"') == 5  # delta and alpha, every task
    assert zero_shot.count("<h4>") == 2 and "gamma" not in zero_shot
    assert stats_html(board.board("zero-shot")) == zero_shot  # seeded


def test_the_page_matrix_is_medteb_compares_test(tmp_path: Path) -> None:
    """Three entries: every pair's p-value within Monte Carlo error of compare_task's, its
    win shares exactly compare_task's wins / losses."""
    from medteb.analysis.compare import compare_task
    from medteb.results.site_stats import pairwise

    results = _pair(tmp_path, five(0.78, 0.78, 0.49, 0.59, 0.69))
    third = write_entry(results, "org/c", "r1", five(0.70, 0.80, 0.45, 0.60, 0.60))
    write_per_query(third, five(0.70, 0.80, 0.45, 0.60, 0.60), seed=9, n=200)
    board = Leaderboard.from_entries(load_entries(results)[0], figure=None).board("zero-shot")
    for task in TASKS:
        cells = pairwise(board, task, [0, 1, 2], resamples=4000)
        for i, j in ((0, 1), (0, 2), (1, 2)):
            a, b = board.rows[i].per_query[task], board.rows[j].per_query[task]
            expected = compare_task(a, b, resamples=4000, seed=5)
            assert cells[i, j][0] == pytest.approx(expected.p_value, abs=0.03), (task, i, j)
            assert cells[j, i][0] == cells[i, j][0]
            assert cells[i, j][1] == expected.wins / expected.n
            assert cells[j, i][1] == expected.losses / expected.n


def test_a_board_without_any_avg_says_it_ranks_nobody() -> None:
    """A sample board (no CMedQA, so no Avg) has intervals but no rank intervals: its footnote
    says so instead of 'among the 0 entries'."""
    from medteb.results.board_stats import stats_footnotes

    entries, _ = load_entries(FIXTURES / "results")
    rows = [{t: q for t, q in entry_per_query(e).items() if t not in TASKS[:2]}
            for e in entries if e.setting == "zero-shot"]
    rows = [r for r in rows if r]
    columns = dict(zip(TASKS, ("CMedQA-v1", "CMedQA-v2", "Retrieval", "Rerank", "STS"),
                       strict=True))
    unranked = board_stats(rows, columns, resamples=200)
    assert unranked.ci and unranked.ranked == 0
    note = dict(stats_footnotes(unranked, len(rows)))["[lo, hi]"]
    assert "among the 0 entries" not in note
    assert note.endswith("Rank 95%: none here, since no entry with per-query data has all five "
                         "tasks (an Avg).")
    ranked = board_stats([entry_per_query(e) for e in entries if e.setting == "zero-shot"
                          and entry_per_query(e)], columns, resamples=200)
    assert f"among the {ranked.ranked} entries" in dict(stats_footnotes(ranked, 2))["[lo, hi]"]

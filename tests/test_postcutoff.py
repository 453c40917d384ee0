"""Post-cutoff scores (issue 23 item 3, the computation): per-query scores split at a model's
release date, the difference with a bootstrap interval checked against scipy; "–" below 30."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from medteb.analysis.perquery import PerQuery, write_per_query
from medteb.benchmark.data.formats import read_retrieval
from medteb.release.create import create_release
from medteb.release.manifest import ReleaseError
from medteb.release.postcutoff import entry_post_cutoff, post_cutoff
from tests.test_release import make_export


def _per_query(ids: list[str], values: list[float], revision: str = "r") -> PerQuery:
    return PerQuery("MedTEB-Retrieval", "ndcg_at_10", revision, "org/m", "v1", tuple(ids),
                    np.array(values, dtype=float))


def _dated(n_after: int, n_before: int) -> tuple[list[str], list[float], dict[str, str]]:
    rng = np.random.default_rng(7)
    ids = [f"q{i}" for i in range(n_after + n_before + 3)]
    values = list(np.r_[rng.uniform(0.2, 0.8, n_after), rng.uniform(0.4, 1.0, n_before),
                        [1.0, 1.0, 1.0]])
    dates = {q: "2025-09-01" for q in ids[:n_after]}
    dates |= {q: "2025-01-01" for q in ids[n_after:n_after + n_before]}  # last 3 undated
    return ids, values, dates


def test_difference_and_interval_match_hand_means_and_scipy() -> None:
    ids, values, dates = _dated(40, 60)
    result = post_cutoff(_per_query(ids, values), dates, "2025-06-30", resamples=20000)
    after, before = np.array(values[:40]), np.array(values[40:100])
    assert (result.after, result.before, result.undated) == (40, 60, 3)
    assert result.after_score == pytest.approx(after.mean(), abs=1e-12)
    assert result.before_score == pytest.approx(before.mean(), abs=1e-12)
    assert result.difference == pytest.approx(after.mean() - before.mean(), abs=1e-12)
    reference = stats.bootstrap(
        (after, before), lambda x, y, axis: x.mean(axis=axis) - y.mean(axis=axis),
        paired=False, vectorized=True, n_resamples=20000, method="percentile",
        random_state=np.random.default_rng(1)).confidence_interval
    assert result.interval == pytest.approx((reference.low, reference.high), abs=0.006)
    assert result.interval[0] < result.difference < result.interval[1]
    low, high = result.interval
    assert result.text == f"{100 * result.difference:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}]"
    again = post_cutoff(_per_query(ids, values), dates, "2025-06-30", resamples=20000)
    assert again == result  # fixed seed
    other = post_cutoff(_per_query(ids, values), dates, "2025-06-30", resamples=20000, seed=3)
    assert other.interval != result.interval


def test_a_query_dated_on_the_release_day_counts_as_before() -> None:
    ids, values, dates = _dated(40, 60)
    on_day = post_cutoff(_per_query(ids, values), dates, "2025-09-01")
    assert (on_day.after, on_day.before, on_day.text) == (0, 100, "–")


def test_a_slice_under_30_queries_shows_a_dash() -> None:
    ids, values, dates = _dated(29, 60)
    result = post_cutoff(_per_query(ids, values), dates, "2025-06-30")
    assert (result.after, result.after_score, result.difference, result.interval) == (
        29, None, None, None)
    assert result.text == "–" and result.before_score is not None


def test_bad_inputs() -> None:
    sts = PerQuery("MedTEB-STS", "cosine_pearson", "r", "org/m", "v1", ("0", "1"),
                   np.array([0.1, 0.9]), gold=np.array([0.0, 1.0]))
    with pytest.raises(ReleaseError, match=r"MedTEB-STS: STS pairs carry no dates"):
        post_cutoff(sts, {}, "2025-01-01")
    ids, values, dates = _dated(30, 30)
    with pytest.raises(ReleaseError, match=r"release date '2025-13-01' is not YYYY-MM-DD"):
        post_cutoff(_per_query(ids, values), dates, "2025-13-01")


def test_an_entry_on_a_release(tmp_path: Path) -> None:
    queries = {f"q{i}": (f"问题{i}号感冒发烧", "2025-09-01" if i < 35 else "2025-03-01")
               for i in range(70)}
    root = tmp_path / "releases"
    create_release(make_export(tmp_path / "export", queries), root, "2026.1",
                   today=datetime.date(2026, 1, 15))
    release = root / "2026.1"
    content = read_retrieval(release / "MedTEB-Retrieval", "test", reranking=False).revision
    entry = tmp_path / "results" / "org__m" / "v1"
    entry.mkdir(parents=True)
    meta = {"name": "org/m", "revision": "v1", "release_date": "2025-06-30"}
    (entry / "model_meta.json").write_text(json.dumps(meta))
    ids = sorted(queries)
    values = [0.5 if queries[q][1] > "2025-06-30" else 0.75 for q in ids]
    write_per_query(entry / "MedTEB-Retrieval.per_query.jsonl",
                    _per_query(ids, values, f"release-2026.1-{content}"))
    result = entry_post_cutoff(entry, release, "MedTEB-Retrieval")
    assert (result.after, result.before) == (35, 35)
    assert result.difference == pytest.approx(-0.25)
    assert result.interval == pytest.approx((-0.25, -0.25))  # constant slices
    assert result.text == "-25.00 [-25.00, -25.00]"
    assert entry_post_cutoff(entry, release, "MedTEB-Rerank") is None  # no per-query file
    (entry / "model_meta.json").write_text(json.dumps({**meta, "release_date": None}))
    assert entry_post_cutoff(entry, release, "MedTEB-Retrieval") is None
    (entry / "model_meta.json").write_text(json.dumps(meta))
    write_per_query(entry / "MedTEB-Retrieval.per_query.jsonl",
                    _per_query(ids, values, "local-0123456789abcdef"))
    with pytest.raises(ReleaseError, match=r"per-query scores on data 'local-0123456789abcdef', "
                       r"not on MedTEB-Retrieval of .*2026\.1 \(content hash"):
        entry_post_cutoff(entry, release, "MedTEB-Retrieval")


def _dated_board(tmp_path: Path) -> tuple[Path, Path]:
    """A releases folder with release 2026.1 (80 dated queries) and a results folder with two
    entries on it: "dated" (released 2025-06-30, per-query scores 0.4 after, 0.7 before) and
    "undated" (no per-query file)."""
    from tests.results_helpers import five, write_entry

    queries = {f"q{i}": (f"问题{i}号头痛", "2025-09-01" if i < 40 else "2025-03-01")
               for i in range(80)}
    root = tmp_path / "releases"
    create_release(make_export(tmp_path / "export", queries), root, "2026.1",
                   today=datetime.date(2026, 1, 15))
    content = read_retrieval(root / "2026.1/MedTEB-Retrieval", "test", reranking=False).revision
    revision = f"release-2026.1-{content}"
    results = tmp_path / "results"
    entry = write_entry(results, "org/dated", "v1", five(.5, .5, .55, .6, .6),
                        data_revision=revision)
    meta = json.loads((entry / "model_meta.json").read_text())
    (entry / "model_meta.json").write_text(json.dumps({**meta, "release_date": "2025-06-30"}))
    ids = sorted(queries)
    write_per_query(entry / "MedTEB-Retrieval.per_query.jsonl", _per_query(
        ids, [0.4 if queries[q][1] > "2025-06-30" else 0.7 for q in ids], revision))
    write_entry(results, "org/undated", "v1", five(.5, .5, .5, .5, .5), data_revision=revision)
    return root, results


def test_the_board_and_page_show_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medteb.results.leaderboard import Leaderboard
    from medteb.results.outputs import board_entries
    from medteb.results.site import build_site

    root, results = _dated_board(tmp_path)
    monkeypatch.setenv("MEDTEB_RELEASES_DIR", str(root))
    entries, _ = board_entries(results)
    text = Leaderboard.from_entries(entries, figure=None).to_markdown()
    (dated,) = [line for line in text.splitlines() if "| dated |" in line]
    (undated,) = [line for line in text.splitlines() if "| undated |" in line]
    # ... | Reproduced | Post-cutoff Δ | Rank 95% (shown: "dated" has per-query data) |
    assert dated.endswith("| – | -30.00 [-30.00, -30.00] | – |")
    assert undated.endswith("| – | – | – |")
    page = build_site(entries).to_html()
    assert ("<tr><td>dated</td><td>MedTEB-Retrieval</td><td>2025-06-30</td><td>40.00 (40)</td>"
            "<td>70.00 (40)</td><td>-30.00 [-30.00, -30.00]</td></tr>") in page
    monkeypatch.setenv("MEDTEB_RELEASES_DIR", str(tmp_path / "elsewhere"))
    entries, _ = board_entries(results)  # the release's query dates are not here: no column
    assert all(not e.post_cutoff for e in entries)
    assert 'class="post-cutoff"' not in build_site(entries).to_html()


def _row(text: str, model: str) -> str:
    (line,) = [line for line in text.splitlines() if f"| {model} |" in line]
    return line


def test_leaderboard_and_submit_take_the_releases_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """`medteb leaderboard --releases-dir DIR` (and what `medteb submit --releases-dir DIR`
    regenerates) find the query dates in DIR; without it, in neither MEDTEB_RELEASES_DIR nor
    ./releases, the Post-cutoff cell is '–'."""
    from medteb.cli import main
    from medteb.results.outputs import derived_files

    root, results = _dated_board(tmp_path)
    monkeypatch.delenv("MEDTEB_RELEASES_DIR", raising=False)
    monkeypatch.chdir(tmp_path / "export")  # no ./releases here
    board, site = tmp_path / "lb.md", tmp_path / "site"
    base = ["leaderboard", "--results", str(results), "--output", str(board), "--no-figure"]
    assert main([*base, "--releases-dir", str(root)]) == 0
    assert _row(board.read_text(), "dated").endswith("| – | -30.00 [-30.00, -30.00] | – |")
    assert main(base) == 0
    assert _row(board.read_text(), "dated").endswith("| – | – | – |")
    assert main(["leaderboard", "--results", str(results), "--html", str(site),
                 "--releases-dir", str(root)]) == 0
    assert 'class="post-cutoff"' in (site / "index.html").read_text()
    files = derived_files(results, board, None, figure=False, releases=root)
    assert _row(files[board].decode(), "dated").endswith("| -30.00 [-30.00, -30.00] | – |")
    files = derived_files(results, board, None, figure=False)
    assert _row(files[board].decode(), "dated").endswith("| – | – | – |")
    capsys.readouterr()
    assert main([*base, "--releases-dir", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == (
        f"medteb: error: --releases-dir {tmp_path / 'nowhere'}: no such folder (the releases "
        "folder holds one folder per release, RELEASES/V/; see docs/releases.md)\n")
    assert main(["leaderboard", "--results", str(results), "--predictions",
                 str(tmp_path / "preds"), "--releases-dir", str(root)]) == 2
    assert "--releases-dir is for the boards of results/ (their Post-cutoff column); a run " \
           "folder's board has no Post-cutoff column" in capsys.readouterr().err

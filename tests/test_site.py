"""``medteb leaderboard --html``: golden site from the fixture results/, links, label placement.

The page's behaviour in a real browser is tested in tests/test_site_browser.py.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import shutil
from pathlib import Path

import pytest

from medteb.cli import main
from medteb.results.labels import Box, place_labels, text_width
from medteb.results.layout import load_entries
from medteb.results.leaderboard import Leaderboard, format_params
from medteb.results.site import SITE_FILES
from tests.conftest import copy_seeded_results

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    assert main(["leaderboard", "--results", str(FIXTURES / "results"), "--html", str(out),
                 "--results-url", "../results"]) == 0
    return out


def test_golden_site_from_fixture_results(site: Path) -> None:
    # Regenerate with: medteb leaderboard --results tests/fixtures/results
    #   --html tests/fixtures/site --results-url ../results
    assert sorted(p.name for p in site.iterdir()) == sorted(SITE_FILES)
    for name in SITE_FILES:
        assert (site / name).read_bytes() == (FIXTURES / "site" / name).read_bytes(), name


def test_page_is_self_contained(site: Path) -> None:
    page = (site / "index.html").read_text("utf-8")
    # no external resource: every src/href is local, relative or a model's own page
    assert "<script src" not in page and "<link rel=\"stylesheet\"" not in page
    assert "cdn" not in page.lower() and "@@" not in page
    assert page.count('<section class="view"') == 3
    # the tiny sample model's size is written like every other parameter count
    assert "<td data-value=\"111840\">112K / 112K</td>" in page
    assert "0 / 0" not in page
    # provenance link per row, the model's own link where model_meta.json has one
    assert 'href="../results/org-a__alpha/r1/submission.yaml"' in page
    assert 'title="reported with `medteb run`"' not in page
    # names are escaped, never markup
    assert "epsilon &lt;b&gt;|x&lt;/b&gt;" in page and "<b>|x" not in page
    # the correlation report and how to cite
    assert "Spearman&#x27;s" not in page and "Spearman's ρ = " in page
    assert "@misc{medteb2025," in page and "How to cite" in page


def test_data_files(site: Path) -> None:
    data = json.loads((site / "leaderboard.json").read_text("utf-8"))
    top = data["boards"]["zero-shot"][0]
    assert (top["model"], top["rank"], top["Avg"]) == ("delta", 1, 68.8)
    assert data["boards"]["fine-tuned"][0]["asymmetric"] is True  # zeta: 305M / 4.02B
    assert data["correlation"]["zero-shot"]["n_models"] == 4
    assert data["correlation"]["sample"] is None
    rows = list(csv.DictReader(io.StringIO((site / "leaderboard.csv").read_text("utf-8"))))
    assert len(rows) == 8 and rows[0]["setting"] == "zero-shot" and rows[0]["model"] == "delta"
    alpha = next(r for r in rows if r["model"] == "alpha")
    assert alpha["qps"] == "1520.25" and alpha["hardware"] == "1x NVIDIA A100 80GB"
    assert alpha["Retrieval"] == "50.0" and alpha["params_query"] == "24000000"
    epsilon = next(r for r in rows if r["model"].startswith("epsilon"))
    assert epsilon["Avg"] == "" and epsilon["rank"] == ""


def test_committed_site_matches_results(tmp_path: Path) -> None:
    # the repository's site/ is the published page of results/ (read here, never written)
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "site"
    assert main(["leaderboard", "--results", str(root / "results"), "--html", str(out),
                 "--results-url", "../results"]) == 0
    for name in SITE_FILES:
        assert (out / name).read_bytes() == (root / "site" / name).read_bytes(), (
            f"site/{name} is stale: run `medteb leaderboard --html` and commit site/")


def test_default_links_are_relative_and_reference_is_kept(tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(FIXTURES / "results", results)
    meta = results / "org-a__alpha" / "r1" / "model_meta.json"
    data = json.loads(meta.read_text())
    data["reference"] = "https://huggingface.co/org-a/alpha"
    meta.write_text(json.dumps(data))
    beta = results / "org-b__beta" / "r1" / "model_meta.json"
    beta.write_text(json.dumps({**json.loads(beta.read_text()), "reference": "javascript:x"}))
    assert main(["leaderboard", "--results", str(results), "--html",
                 str(tmp_path / "pages" / "site")]) == 0
    page = (tmp_path / "pages" / "site" / "index.html").read_text("utf-8")
    assert 'href="../../results/org-a__alpha/r1/submission.yaml"' in page
    assert '<a href="https://huggingface.co/org-a/alpha" rel="noopener">alpha</a>' in page
    assert "javascript:" not in page


def test_html_writes_the_default_site_folder(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURES / "results", tmp_path / "results")
    assert main(["leaderboard", "--html"]) == 0  # default folder: site/
    assert capsys.readouterr().out == "wrote site/index.html (open it in a browser)\n"
    assert (tmp_path / "site" / "index.html").is_file()


def test_bad_input_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "site"
    assert main(["leaderboard", "--results", str(tmp_path / "nowhere"), "--html", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err and not out.exists()
    assert main(["leaderboard", "--results-url", "x"]) == 2
    assert "--results-url is for the web site: add --html [DIR]" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()  # no results at all: every view says so
    assert main(["leaderboard", "--results", str(tmp_path / "empty"), "--html", str(out)]) == 0
    page = (out / "index.html").read_text("utf-8")
    assert page.count("No results yet.") == 3
    assert (out / "leaderboard.csv").read_text("utf-8").startswith("setting,rank,model,")


def test_format_params_is_one_format() -> None:
    cases = {24_000_000: "24M", 4_020_000_000: "4.02B", 111_840: "112K", 999_999: "1M",
             1_500_000_000: "1.5B", 102_000_000: "102M", 22_700_000: "22.7M", 999: "999",
             0: "0", None: "–", 10**10: "10B"}
    assert {n: format_params(n) for n in cases} == cases


def test_labels_never_overlap() -> None:
    # three labels on one point, a fourth beside it, a fifth by the legend in the corner
    points = [(50, 50), (50, 50), (50, 50), (60, 52), (180, 90)]
    sizes = [(text_width(name, 11), 14) for name in ("alpha", "beta", "gamma-long", "δ", "x")]
    legend = Box(150, 70, 200, 100)
    boxes = place_labels(points, sizes, Box(0, 0, 200, 100), marker=4, obstacles=[legend])
    placed = [b for b in boxes if b is not None]
    assert len(placed) == 5
    # no room at all: the label is left out rather than overlapped
    assert place_labels([(5, 5)], [(300, 14)], Box(0, 0, 200, 100)) == [None]
    for a, b in itertools.combinations(placed, 2):
        assert not a.overlaps(b)
    for box in placed:
        assert not box.overlaps(legend) and box.inside(Box(0, 0, 200, 100))
        assert all(not box.overlaps(Box(x - 4, y - 4, x + 4, y + 4)) for x, y in points)
    assert place_labels(points, sizes, Box(0, 0, 200, 100)) == place_labels(
        points, sizes, Box(0, 0, 200, 100))  # deterministic
    assert Box(0, 0, 10, 10).crosses((-5, 5), (15, 5))
    assert not Box(0, 0, 10, 10).crosses((-5, 15), (15, 15))
    assert text_width("医学", 10) == 20 and text_width("ab", 10) == 12


def test_static_figure_labels_do_not_overlap(tmp_path: Path) -> None:
    from medteb.results.figure import draw_figure

    entries, _ = load_entries(copy_seeded_results(tmp_path))
    figure = draw_figure(Leaderboard.from_entries(entries))
    renderer = figure.canvas.get_renderer()
    (axes,) = figure.axes
    labels = list(axes.texts)
    assert len(labels) == 27  # every zero-shot and fine-tuned model is named
    extents = [t.get_window_extent(renderer) for t in labels]
    for a, b in itertools.combinations(extents, 2):
        assert not a.overlaps(b)
    area = axes.get_window_extent(renderer)
    assert all(area.x0 <= e.x0 and e.x1 <= area.x1 for e in extents)
    import matplotlib.pyplot as plt

    plt.close(figure)

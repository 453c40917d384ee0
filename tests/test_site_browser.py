"""The leaderboard site in a real headless browser (Debian's Chromium, driven by Selenium).

The page is built from a copy of the repository's results/ plus a few reproduced entries (a
verified one with a QPS measurement, an asymmetric pair missing a task, a sample run), and every
expectation is computed from the same entries in Python. Skipped, with the reason, when
Chromium or its driver is not installed (`apt-get install chromium chromium-driver`; .ci/run
installs them).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medteb.benchmark.definitions import SETTINGS
from medteb.cli import main
from medteb.results.layout import load_entries
from medteb.results.leaderboard import Leaderboard, Row
from tests.conftest import copy_seeded_results
from tests.results_helpers import five, write_entry

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()),
    reason="needs Chromium and chromedriver (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Leaderboard]:
    """The site of results/ + extra entries, and the Leaderboard the page must show."""
    root = tmp_path_factory.mktemp("browser")
    results = copy_seeded_results(root)
    reproduced = "reproduced with `medteb run` (mteb 2.26.24) and added with `medteb submit`"
    write_entry(results, "org-x/tiny", "r1", five(0.70, 0.71, 0.30, 0.50, 0.60),
                params=(111_840, 111_840), provenance="reproduced", verified=True,
                source=reproduced + "; main scores recomputed from its predictions",
                speed={"qps": 3000.0, "batch_size": 32, "hardware": "1x CPU"})
    write_entry(results, "org-y/repro", "r1", five(0.81, 0.83, 0.47, 0.60, 0.71),
                params=(50_000_000, 50_000_000), provenance="reproduced", source=reproduced,
                speed={"qps": 900.0, "batch_size": 32, "hardware": "1x CPU"})
    write_entry(results, "org-z/pair", "r1", {"CMedQAv1-reranking": 0.8, "MedTEB-Retrieval": 0.6},
                params=(24_000_000, 4_020_000_000), provenance="reproduced", source=reproduced)
    write_entry(results, "local/smoke", "abc", {"MedTEB-Retrieval": 0.79, "MedTEB-STS": 0.5},
                setting="sample", provenance="reproduced", source=reproduced, params=(0, 0))
    assert main(["leaderboard", "--results", str(results), "--html", str(root / "site")]) == 0
    entries, _ = load_entries(results)
    return root / "site" / "index.html", Leaderboard.from_entries(entries)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install -e '.[test]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(1280, 1000)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser: Any, built: tuple[Path, Leaderboard]) -> Any:
    """The page freshly loaded (no sort, no filter), at desktop width."""
    browser.set_window_size(1280, 1000)
    browser.get(built[0].as_uri())
    return browser


def visible(driver: Any, setting: str) -> list[str]:
    """The model names of the board's visible rows, top to bottom."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).filter(r => !r.hidden)"
        ".map(r => r.querySelector('.id').textContent);", f"#view-{setting} table.board tbody tr")


def names(rows: list[Row]) -> list[str]:
    return [r.model_name for r in rows]


def click(driver: Any, selector: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, selector).click()


def header(setting: str, label: str) -> str:
    return f"#view-{setting} th:nth-child({_columns().index(label) + 1}) button"


def _columns() -> list[str]:
    return ["Rank", "Model", "Params (Q/D)", "CMedQA-v1", "CMedQA-v2", "Retrieval", "Rerank",
            "STS", "Avg", "CMedQA avg", "New-task avg", "QPS", "Source", "Reproduced",
            "Post-cutoff Δ"]


def test_page_loads_without_console_errors(page: Any) -> None:
    assert page.title == "MedTEB leaderboard"
    assert page.get_log("browser") == []  # no error, warning or message at all
    assert page.execute_script("return document.querySelectorAll('script[src], link[href^=http]')"
                               ".length") == 0


def test_every_model_is_on_its_board_and_settings_switch(page: Any, built: Any) -> None:
    from selenium.webdriver.common.by import By

    board = built[1]
    for setting in SETTINGS:
        click(page, f"#tab-{setting}")
        for other in SETTINGS:  # one view at a time: settings are never shown together
            view = page.find_element(By.ID, f"view-{other}")
            assert view.is_displayed() == (other == setting)
        assert visible(page, setting) == names(list(board.board(setting).rows))
        assert page.execute_script("return location.hash") == f"#{setting}"
        shown = page.find_element(By.ID, "shown").text
        n = len(board.board(setting).rows)
        assert shown == f"Showing {n} of {n} models on this board."
    assert len(board.board("zero-shot").rows) == 17 and len(board.board("sample").rows) == 1


def test_keyboard_and_link_select_a_setting(page: Any, built: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    tab = page.find_element(By.ID, "tab-zero-shot")
    tab.send_keys(Keys.ARROW_RIGHT)
    active = page.switch_to.active_element
    assert active.get_attribute("id") == "tab-fine-tuned"
    assert active.get_attribute("aria-selected") == "true"
    assert page.find_element(By.ID, "view-fine-tuned").is_displayed()
    active.send_keys(Keys.END)
    assert page.find_element(By.ID, "view-sample").is_displayed()
    page.get(built[0].as_uri() + "#fine-tuned")
    assert page.find_element(By.ID, "view-fine-tuned").is_displayed()
    assert not page.find_element(By.ID, "view-zero-shot").is_displayed()


def _by(rows: list[Row], key: Any, descending: bool) -> list[Row]:
    present = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    return sorted(present, key=key, reverse=descending) + missing  # stable, missing last


def test_sorting_orders_rows(page: Any, built: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    rows = list(built[1].board("zero-shot").rows)

    def retrieval(r: Row) -> float | None:
        return r.scores.get("MedTEB-Retrieval")

    click(page, header("zero-shot", "Retrieval"))  # scores: best first
    assert visible(page, "zero-shot") == names(_by(rows, retrieval, True))
    th = page.find_element(By.CSS_SELECTOR, header("zero-shot", "Retrieval")[:-7])
    assert th.get_attribute("aria-sort") == "descending"
    click(page, header("zero-shot", "Retrieval"))  # again: reversed, missing still last
    assert visible(page, "zero-shot") == names(_by(rows, retrieval, False))
    assert th.get_attribute("aria-sort") == "ascending"
    click(page, header("zero-shot", "Model"))
    assert visible(page, "zero-shot") == names(
        _by(rows, lambda r: r.display_name.lower(), False))
    click(page, header("zero-shot", "QPS"))
    assert visible(page, "zero-shot")[:2] == ["org-x/tiny", "org-y/repro"]
    # with the keyboard: Enter on a heading's button
    page.find_element(By.CSS_SELECTOR, header("zero-shot", "Params (Q/D)")).send_keys(Keys.ENTER)
    assert visible(page, "zero-shot") == names(_by(rows, lambda r: r.params_query, False))
    click(page, header("zero-shot", "Avg"))
    ranked = [r for r in rows if r.average("Avg") is not None]
    assert visible(page, "zero-shot")[:len(ranked)] == names(
        _by(ranked, lambda r: r.average("Avg"), True))


@pytest.mark.parametrize(("setting", "action", "keep"), [
    ("zero-shot", {"f-min": "100"}, lambda r: (r.params_query or -1) >= 100e6),
    ("zero-shot", {"f-max": "326"}, lambda r: r.params_query is not None
     and r.params_query <= 326e6),
    ("zero-shot", {"f-min": "0.1", "f-max": "60"}, lambda r: r.params_query is not None
     and 0.1e6 <= r.params_query <= 60e6),
    ("fine-tuned", {"f-kind": "asymmetric"}, lambda r: r.asymmetric),
    ("zero-shot", {"f-kind": "asymmetric"}, lambda r: r.asymmetric),
    ("zero-shot", {"f-kind": "symmetric"}, lambda r: not r.asymmetric),
    ("zero-shot", {"f-reported": False}, lambda r: r.source_kind != "reported"),
    ("zero-shot", {"f-verified": False}, lambda r: r.source_kind != "verified"),
    ("zero-shot", {"f-reproduced": False, "f-verified": False},
     lambda r: r.source_kind == "reported"),
    ("zero-shot", {"f-name": "BGE-"}, lambda r: "bge-" in r.model_name.lower()),
    ("zero-shot", {"f-name": "qwen3", "f-min": "1000"},
     lambda r: "qwen3" in r.model_name.lower() and (r.params_query or 0) >= 1e9),
])
def test_each_filter_hides_exactly_the_right_rows(page: Any, built: Any, setting: str,
                                                  action: dict, keep: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    click(page, f"#tab-{setting}")
    rows = list(built[1].board(setting).rows)
    for field, value in action.items():
        element = page.find_element(By.ID, field)
        if field == "f-kind":
            Select(element).select_by_value(value)
        elif isinstance(value, bool):
            if element.is_selected() != value:
                element.click()
        else:
            element.send_keys(value)
    expected = [r for r in rows if keep(r)]
    assert 0 < len(expected) < len(rows)  # each case hides some rows and keeps some
    assert visible(page, setting) == names(expected)
    assert page.find_element(By.ID, "shown").text == \
        f"Showing {len(expected)} of {len(rows)} models on this board."
    # the figures show the kept rows' points only
    plotted = page.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".filter(p => p.style.display !== 'none').length;",
        f"#view-{setting} svg .point")
    params_points = sum(r.average("Avg") is not None and bool(r.params_query) for r in expected)
    qps_points = sum(r.average("Avg") is not None and bool(r.qps) for r in expected)
    assert plotted == params_points + qps_points
    click(page, "#f-clear")
    assert visible(page, setting) == names(rows)


def test_figure_labels_do_not_overlap_as_rendered(page: Any) -> None:
    for setting in ("zero-shot", "fine-tuned"):
        click(page, f"#tab-{setting}")
        boxes = page.execute_script("""
            return Array.from(document.querySelectorAll(arguments[0])).map(svg => {
              const plot = svg.querySelector('.plot').getBoundingClientRect();
              const labels = Array.from(svg.querySelectorAll('.label'))
                .map(t => t.getBoundingClientRect())
                .map(r => [r.left, r.top, r.right, r.bottom]);
              const dots = Array.from(svg.querySelectorAll('circle'))
                .map(c => c.getBoundingClientRect())
                .map(r => [r.left, r.top, r.right, r.bottom]);
              return {plot: [plot.left, plot.top, plot.right, plot.bottom], labels, dots,
                      points: svg.querySelectorAll('.point').length};
            });""", f"#view-{setting} svg.scatter")
        for figure in boxes:
            assert len(figure["labels"]) == figure["points"] > 0  # every point is named
            for a, b in itertools.combinations(figure["labels"], 2):
                assert not _overlap(a, b), (a, b)
            for label in figure["labels"]:
                assert not any(_overlap(label, dot) for dot in figure["dots"])
                left, top, right, bottom = figure["plot"]
                assert left <= label[0] and label[2] <= right
                assert top <= label[1] and label[3] <= bottom


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_readable_at_phone_width(page: Any) -> None:
    page.set_window_size(390, 844)
    width = page.execute_script("return document.documentElement.clientWidth")
    assert page.execute_script("return document.documentElement.scrollWidth") <= width
    # the wide table scrolls inside its own frame, with the model names kept in view
    wrap = page.execute_script(
        "const w = document.querySelector('#view-zero-shot .table-wrap');"
        "return [w.scrollWidth, w.clientWidth];")
    assert wrap[0] > wrap[1]
    size = page.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('td.model')).fontSize)")
    assert size >= 12


def test_boards_fit_a_laptop_width_with_every_column_in_view(page: Any) -> None:
    page.set_window_size(1400, 900)
    for setting in ("zero-shot", "fine-tuned"):
        click(page, f"#tab-{setting}")
        fit = page.execute_script("""
            const wrap = document.querySelector(arguments[0] + ' .table-wrap');
            const main = document.querySelector('main');
            const content = main.getBoundingClientRect().right
                - parseFloat(getComputedStyle(main).paddingRight);
            const last = wrap.querySelector('thead th:last-child').getBoundingClientRect();
            return [wrap.scrollWidth, wrap.clientWidth, last.right, content];""",
            f"#view-{setting}")
        assert fit[0] <= fit[1], (setting, fit)  # no horizontal scrollbar: nothing hidden
        assert fit[2] <= fit[3] + 1, (setting, fit)  # the Source column inside the content
    # narrower than the table, the model column stays in view while the table scrolls
    page.set_window_size(900, 900)
    click(page, "#tab-zero-shot")
    left = page.execute_script("""
        const wrap = document.querySelector('#view-zero-shot .table-wrap');
        wrap.scrollLeft = wrap.scrollWidth;
        const cell = wrap.querySelector('tbody td.model').getBoundingClientRect();
        return [wrap.scrollLeft, cell.left - wrap.getBoundingClientRect().left];""")
    assert left[0] > 0 and 0 <= left[1] <= 2


def test_the_citation_block_wraps_instead_of_scrolling(page: Any) -> None:
    for width in (1400, 390):
        page.set_window_size(width, 900)
        block = page.execute_script(
            "const pre = document.querySelector('#cite pre');"
            "return [pre.scrollWidth, pre.clientWidth, pre.textContent];")
        assert block[0] <= block[1], (width, block[:2])
        assert "@inproceedings{cmedteb2026," in block[2]  # the text itself is whole


def test_footnotes_cite_the_published_paper_the_citation_leads_with(page: Any) -> None:
    notes = page.execute_script(
        "return Array.from(document.querySelectorAll('#view-zero-shot p.foot'))"
        ".map(p => p.textContent);")
    reported = [n for n in notes if "reported in" in n]
    assert reported and all(n.startswith("[1] reported in the CMedTEB paper (CMedTEB & CARE, "
                                         "ACL 2026), Table 9") for n in reported)
    first = page.execute_script("return document.querySelector('#cite pre').textContent")
    assert first.lstrip().startswith("@inproceedings{cmedteb2026,")  # the same paper leads
    assert "ACL 2026" in first.split("@misc", 1)[0]


def test_the_table_2_box_has_no_empty_cell(page: Any) -> None:
    cells = page.execute_script("""
        const table = document.querySelector('#view-zero-shot .correlation table.small');
        const rows = Array.from(table.querySelectorAll('tbody tr'));
        const spearman = rows[0].querySelector('td[rowspan="2"]');
        const box = spearman.getBoundingClientRect();
        return {empty: Array.from(table.querySelectorAll('td, th'))
                  .filter(c => !c.textContent.trim()).length,
                text: spearman.textContent, rows: rows.length,
                spans: box.bottom >= rows[1].getBoundingClientRect().bottom - 1};""")
    assert cells["empty"] == 0 and cells["rows"] == 2 and cells["spans"]
    assert cells["text"].count("(") == 1  # rho (p), once for both rows


@pytest.fixture(scope="module")
def stats_page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The page of the fixture results/, where two entries per board carry per-query files."""
    root = tmp_path_factory.mktemp("stats-site")
    fixtures = Path(__file__).parent / "fixtures" / "results"
    assert main(["leaderboard", "--results", str(fixtures), "--html", str(root)]) == 0
    return root / "index.html"


def test_intervals_rank_intervals_and_ties_on_the_page(browser: Any, stats_page: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.set_window_size(1400, 900)
    browser.get(stats_page.as_uri())
    heads = [th.get_attribute("textContent") for th in
             browser.find_elements(By.CSS_SELECTOR, "#view-zero-shot table.board thead th")]
    assert heads[-1] == "Rank 95%"
    rows = browser.find_elements(By.CSS_SELECTOR, "#view-zero-shot table.board tbody tr")
    delta = rows[0].find_elements(By.TAG_NAME, "td")
    retrieval = delta[heads.index("Retrieval")]
    assert retrieval.text.split("\n") == ["52.00", "[46.24, 57.64]"]  # the interval under it
    number = retrieval.find_element(By.CSS_SELECTOR, "u.second").rect
    interval = retrieval.find_element(By.CSS_SELECTOR, ".id").rect
    assert interval["y"] >= number["y"] + number["height"] - 1  # below, not beside
    assert retrieval.get_attribute("title") == "95% CI [46.24, 57.64]"
    ranks = [r.find_elements(By.TAG_NAME, "td")[-1].text for r in rows]
    assert ranks == ["1–2", "1–2 ≈", "–", "–", "–"]  # copied entries: never tied or separated
    foot = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "#view-zero-shot p.foot")]
    assert foot[-1].startswith("§ 3 of 5 entries have no per-query data")
    # sorted by rank interval: the entries with one first, the copied ones after
    browser.find_element(By.CSS_SELECTOR, "#view-zero-shot table.board thead th:last-child button").click()
    names = [r.find_element(By.CSS_SELECTOR, ".id").text for r in
             browser.find_elements(By.CSS_SELECTOR, "#view-zero-shot table.board tbody tr")]
    assert names[:2] == ["org-d/delta", "org-a/alpha"]
    wrap = browser.execute_script("""
        const w = document.querySelector('#view-zero-shot .table-wrap');
        return [w.scrollWidth, w.clientWidth];""")
    assert wrap[0] <= wrap[1]  # still fits a laptop's width with the intervals shown


def test_pairwise_matrix_and_hardest_queries_on_the_page(browser: Any, stats_page: Path) -> None:
    from selenium.webdriver.common.by import By

    from medteb.analysis.compare import compare_task
    from medteb.analysis.perquery import read_per_query
    from medteb.results.site_stats import HARDEST, MATRIX_RESAMPLES

    browser.set_window_size(1400, 900)
    browser.get(stats_page.as_uri())
    view = browser.find_element(By.ID, "view-zero-shot")
    view.find_element(By.CSS_SELECTOR, "details.pairwise summary").click()
    table = view.find_element(By.CSS_SELECTOR, 'table.pairwise[data-task="MedTEB-Retrieval"]')
    assert table.is_displayed()
    cells = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
             for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    folder = Path(__file__).parent / "fixtures" / "results"
    delta, alpha = (read_per_query(folder / f"{m}/r1/MedTEB-Retrieval.per_query.jsonl")
                    for m in ("org-d__delta", "org-a__alpha"))
    expected = compare_task(delta, alpha, resamples=MATRIX_RESAMPLES)
    assert cells[0] == ["–", f"p {expected.p_value:.3f} · "
                             f"{100 * expected.wins / expected.n:.0f}%"]
    assert cells[1][0] == f"p {expected.p_value:.3f} · {100 * expected.losses / expected.n:.0f}%"
    assert not view.find_element(By.CSS_SELECTOR, "details.hardest ul").is_displayed()
    view.find_element(By.CSS_SELECTOR, "details.hardest summary").click()
    items = view.find_element(By.CSS_SELECTOR, 'details.hardest ul[data-model="org-d/delta"]')
    retrieval = next(li.text for li in items.find_elements(By.TAG_NAME, "li")
                     if li.text.startswith("MedTEB-Retrieval"))
    lowest = sorted(zip(delta.values, delta.ids, strict=True))[:HARDEST]
    assert retrieval == "MedTEB-Retrieval: " + ", ".join(f"{q}: {100 * v:.1f}" for v, q in lowest)
    # a board without per-query data has neither
    assert not browser.find_elements(By.CSS_SELECTOR, "#view-sample details.pairwise")

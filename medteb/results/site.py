"""The leaderboard as a static web page: ``index.html`` plus the data as JSON and CSV (pure).

>>> from medteb.results.layout import load_entries                        # doctest: +SKIP
>>> entries, _ = load_entries("results")                           # doctest: +SKIP
>>> files = build_site(entries, results_url="../results").files()  # doctest: +SKIP
>>> sorted(files)                                                   # doctest: +SKIP
['index.html', 'leaderboard.csv', 'leaderboard.json']

The page renders the same :class:`~medteb.results.leaderboard.Leaderboard` as ``leaderboard.md``
(one view per setting, never ranked together; the cells are
:class:`~medteb.results.board.BoardView`'s, so a column is declared once for both) and one
:class:`~medteb.results.correlation.CorrelationReport` per setting. Everything is inline (styles,
script, SVG figures): no CDN and no server, so it works from ``file://`` and from any static
host. The tables are written into the HTML; the script only sorts, filters and switches views.
Output is deterministic (no dates, stable order, fixed number formats).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from medteb.benchmark.definitions import SETTINGS
from medteb.errors import MedtebError
from medteb.results.board import TASK_COLUMNS, Board, BoardView, Cell, Column, Row, score_columns
from medteb.results.board_stats import row_intervals
from medteb.results.correlation import CorrelationReport, correlation_report
from medteb.results.figure import figure_points, svg_scatter
from medteb.results.layout import SETTING_TITLES, Entry
from medteb.results.leaderboard import SETTING_NOTES, TITLE, UNRELEASED, Leaderboard

SITE_FILES = ("index.html", "leaderboard.json", "leaderboard.csv")
#: the task whose metadata carries MedTEB's citation, and the public tasks cited beside it
CITED_TASKS = ("MedTEB-Retrieval", "CMedQAv1-reranking", "CMedQAv2-reranking")
SHORT = {"zero-shot": "Zero-shot", "fine-tuned": "Fine-tuned", "sample": "Sample"}
_ID = {"zero-shot": "zs", "fine-tuned": "ft", "sample": "sm"}


@dataclass(frozen=True)
class Site:
    """Everything the page shows; :meth:`files` renders it."""

    leaderboard: Leaderboard
    correlations: dict[str, CorrelationReport | str]  # per setting: the report, or why none
    citations: tuple[str, ...]  # BibTeX entries
    results_url: str = "../results"  # base of the provenance links (a row's folder is appended)

    def files(self) -> dict[str, bytes]:
        """``{file name: content}`` of the site folder."""
        return {"index.html": self.to_html().encode("utf-8"),
                "leaderboard.json": self.to_json().encode("utf-8"),
                "leaderboard.csv": self.to_csv().encode("utf-8")}

    def to_json(self) -> str:
        """The provenance links' base, the boards (:meth:`Leaderboard.to_dict`) and the
        correlation reports."""
        data = {"results_url": self.results_url,  # kept when the site is rebuilt
                "release": self.leaderboard.release, "releases": list(self.leaderboard.releases),
                "boards": self.leaderboard.to_dict(),
                "correlation": {s: r.to_dict() if isinstance(r, CorrelationReport) else None
                                for s, r in self.correlations.items()}}
        return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n"

    def to_csv(self) -> str:
        """One line per row of every board, the setting first; empty cells for missing values.
        The JSON's intervals are flat columns (:func:`_csv_intervals`) after the row's keys."""
        boards = self.leaderboard.to_dict()
        # the keys of Row.to_dict, taken from an empty row: a header even when no board has rows
        columns = ["setting", *Row("", "", "", {}, "", "reported").to_dict(),
                   *_csv_intervals(row_intervals(None, 0))]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for setting in SETTINGS:
            for row in boards.get(setting, []):
                values = {"setting": setting, **row, **_csv_intervals(row)}
                writer.writerow([_csv_value(values[c]) for c in columns])
        return out.getvalue()

    def to_html(self) -> str:
        """``index.html``: the template with styles, script and content inlined."""
        body = [self._header(), self._filters()]
        body += [self._view(b) for b in self.leaderboard.boards]
        body.append(self._citation())
        page = _asset("page.html")
        for key, value in (("STYLE", _asset("site.css")), ("SCRIPT", _asset("site.js")),
                           ("BODY", "\n".join(body))):
            page = page.replace(f"@@{key}@@", value.rstrip("\n"))
        return page

    def _header(self) -> str:
        tabs = []
        for i, board in enumerate(self.leaderboard.boards):
            s = board.setting
            state = 'aria-selected="true"' if i == 0 else 'aria-selected="false" tabindex="-1"'
            tabs.append(f'<button type="button" role="tab" id="tab-{s}" aria-controls="view-{s}" '
                        f'{state} data-setting="{s}">{SHORT[s]} '
                        f'<span class="count">({len(board.rows)})</span></button>')
        return "\n".join([
            '<header>', f'<h1>{html.escape(self.leaderboard.title)}</h1>',
            "<p>The Chinese Medical Text Embedding Benchmark: main scores on a 0–100 scale "
            "(CMedQA-v1/v2 and Rerank MAP, Retrieval nDCG@10, STS Pearson). Avg: the five "
            "tasks; CMedQA avg: v1 and v2; New-task avg: Retrieval, Rerank and STS. "
            "<strong>Bold</strong>: best in its column; <u>underlined</u>: second. "
            "&ldquo;–&rdquo;: not evaluated (no average, no rank). Zero-shot, fine-tuned and "
            "sample results are different experiments and are never ranked together.</p>",
            '<p class="data">Data: <a href="leaderboard.json">leaderboard.json</a> · '
            '<a href="leaderboard.csv">leaderboard.csv</a> · generated from '
            "<code>results/</code> by <code>medteb leaderboard --html</code></p>",
            *([f'<p class="release">{_inline_markdown(note)}</p>']
              if (note := self.leaderboard.release_note) else []),
            '<nav><div role="tablist" aria-label="Setting">', *tabs, "</div></nav>", "</header>"])

    @staticmethod
    def _filters() -> str:
        return """<form id="filters" class="filters" aria-label="Filter the models">
<fieldset><legend>Query-encoder parameters (millions)</legend>
<label>from <input type="number" id="f-min" min="0" step="any" inputmode="decimal"></label>
<label>to <input type="number" id="f-max" min="0" step="any" inputmode="decimal"></label>
</fieldset>
<label>Encoders <select id="f-kind">
<option value="">all</option><option value="symmetric">symmetric</option>
<option value="asymmetric">asymmetric</option></select></label>
<fieldset><legend>Source</legend>
<label><input type="checkbox" id="f-reported" value="reported" checked> reported</label>
<label><input type="checkbox" id="f-reproduced" value="reproduced" checked> reproduced</label>
<label><input type="checkbox" id="f-verified" value="verified" checked> verified</label>
</fieldset>
<label>Model <input type="search" id="f-name" placeholder="name contains…"></label>
<button type="button" id="f-clear">Clear filters</button>
<p id="shown" role="status" aria-live="polite"></p>
</form>"""

    def _view(self, board: Board) -> str:
        s = board.setting
        parts = [f'<section class="view" id="view-{s}" role="tabpanel" aria-labelledby="tab-{s}" '
                 f'data-setting="{s}">', f"<h2>{html.escape(SETTING_TITLES[s])}</h2>",
                 f"<p>{_inline_markdown(SETTING_NOTES[s])}</p>"]
        if not board.rows:
            return "\n".join([*parts, '<p class="empty">No results yet.</p>', "</section>"])
        parts += [_table(board, self.results_url), *_footnotes(board)]
        from medteb.results.site_stats import stats_html  # entries with per-query data only

        parts += [block for block in (stats_html(board),) if block]
        parts.append(self._figures(board))
        parts += [view] if (view := _post_cutoff_html(board)) else []
        parts.append(_correlation_html(self.correlations.get(s, "")))
        return "\n".join([*parts, "</section>"])

    @staticmethod
    def _figures(board: Board) -> str:
        ids = [_row_id(board.setting, i) for i in range(len(board.rows))]
        title = SETTING_TITLES[board.setting]
        out = ['<div class="figures">']
        for axis, caption in (("params", "Average score against query-encoder parameters"),
                              ("qps", "Average score against query throughput (QPS)")):
            points = figure_points(board, axis)
            out.append(f"<figure><figcaption>{caption} ({html.escape(SHORT[board.setting])}"
                       ")</figcaption>")
            if points:
                svg = svg_scatter(points, axis, "MedTEB Avg (0–100)", ids, f"{caption}, {title}")
                out.append(f'<div class="scroll">{svg}</div>')
            else:
                need = ("a parameter count" if axis == "params"
                        else "a QPS measurement (<code>medteb speed</code>)")
                out.append(f'<p class="empty">No model on this board has both an Avg and '
                           f"{need} yet.</p>")
            out.append("</figure>")
        return "\n".join([*out, "</div>"])

    def _citation(self) -> str:
        entries = "\n\n".join(html.escape(c.strip()) for c in self.citations)
        return ('<section class="cite" id="cite"><h2>How to cite</h2>\n<p>If you use MedTEB, '
                "please cite the paper, and the CMedQA datasets when you report their "
                "scores:</p>\n"
                f'<pre tabindex="0"><code>{entries}</code></pre>\n</section>')


def build_site(entries: Iterable[Entry], results_url: str = "../results",
               release: str | None = None, title: str = TITLE) -> Site:
    """The site of loaded ``results/`` entries: the leaderboard of one release (default: the
    latest, as :meth:`Leaderboard.from_entries`) and each setting's report on that release."""
    entries = list(entries)
    leaderboard = Leaderboard.from_entries(entries, figure=None, release=release, title=title)
    correlations: dict[str, CorrelationReport | str] = {}
    for setting in SETTINGS:
        shown = [e for e in entries if e.setting == setting and (
            setting == "sample" or (e.release or UNRELEASED) == leaderboard.release)]
        try:  # each view's own entries only: the report's hint at other groups is the CLI's
            correlations[setting] = correlation_report(shown, setting)
        except MedtebError as err:  # fewer than three models with all five tasks
            correlations[setting] = str(err)
    return Site(leaderboard, correlations, citations(), results_url.rstrip("/"))


def citations() -> tuple[str, ...]:
    """The BibTeX of MedTEB and of the CMedQA tasks, from the tasks' mteb metadata."""
    import mteb

    return tuple(mteb.get_task(name).metadata.bibtex_citation or "" for name in CITED_TASKS)


def _asset(name: str) -> str:
    return resources.files("medteb.results").joinpath("site_assets", name).read_text("utf-8")


def _inline_markdown(text: str) -> str:
    """The notes' markdown subset (``**bold**``, ```code```) as HTML, everything else escaped."""
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _row_id(setting: str, index: int) -> str:
    return f"{_ID[setting]}-{index + 1}"


def _table(board: Board, results_url: str) -> str:
    s = board.setting
    view = BoardView.of(board)
    sorted_by = ' aria-sort="ascending"'  # the first column, as the rows come
    head = "".join(
        f'<th scope="col" data-type="{c.kind}" data-first="{c.first}"'
        f"{sorted_by if i == 0 else ''}{_css(c)}>"
        f'<button type="button">{html.escape(c.label)}</button></th>'
        for i, c in enumerate(view.columns))
    body = []
    for i, shown in enumerate(view.rows):
        row = shown.row
        cells = "".join(_html_cell(cell, column, results_url)
                        for cell, column in zip(shown.cells, view.columns, strict=True))
        body.append(
            f'<tr id="{_row_id(s, i)}" data-params="{_num(row.params_query)}" '
            f'data-kind="{"asymmetric" if row.asymmetric else "symmetric"}" '
            f'data-source="{row.source_kind}" '
            f'data-name="{html.escape((row.display_name + " " + row.model_name).lower())}">'
            + cells + "</tr>")
    return "\n".join([
        f'<div class="table-wrap" role="region" tabindex="0" '
        f'aria-label="{SHORT[s]} results (scrolls sideways)">',
        f'<table class="board" data-setting="{s}"><caption>{view.summary} Select a column '
        "heading to sort by it.</caption>",
        f"<thead><tr>{head}</tr></thead>", "<tbody>", *body, "</tbody></table></div>"])


def _html_cell(cell: Cell, column: Column, results_url: str) -> str:
    """One ``<td>`` of a :class:`~medteb.results.board.Cell`: its sort value, mark, link,
    tooltip (on the link if there is one), second line and footnote marker."""
    text = html.escape(cell.short or cell.text)
    if cell.mark == "best":
        text = f'<strong class="best">{text}</strong>'
    elif cell.mark == "second":
        text = f'<u class="second">{text}</u>'
    title = f' title="{html.escape(cell.title)}"' if cell.title else ""
    if cell.link:
        text = f'<a href="{html.escape(cell.link)}" rel="noopener">{text}</a>'
    elif cell.results_path:
        link = html.escape(f"{results_url}/{cell.results_path}")
        text, title = f'<a href="{link}"{title}>{text}</a>', ""
    if cell.sub:
        text += f'<span class="id">{html.escape(cell.sub)}</span>'
    if cell.note:
        text += f" <sup>{cell.note}</sup>"
    return f'<td{_css(column)} data-value="{html.escape(cell.sort)}"{title}>{text}</td>'


def _css(column: Column) -> str:
    return f' class="{column.css}"' if column.css else ""


def _post_cutoff_html(board: Board) -> str:
    """Issue 23's page view: each model's score after vs before its release date, per dated
    task; nothing when no row of the board has one."""
    rows = [(r, task, c) for r in board.rows for task, c in sorted(r.post_cutoff.items())]
    if not rows:
        return ""

    def score(value: float | None, n: int) -> str:
        return f"{'–' if value is None else f'{100 * value:.2f}'} ({n})"

    body = "".join(
        f"<tr><td>{html.escape(r.display_name)}</td><td>{html.escape(task)}</td>"
        f"<td>{c.release_date}</td><td>{score(c.after_score, c.after)}</td>"
        f"<td>{score(c.before_score, c.before)}</td><td>{html.escape(c.text)}</td></tr>"
        for r, task, c in rows)
    return "\n".join([
        '<section class="post-cutoff"><h3>Post-cutoff: queries dated after each model\'s '
        "release date</h3>",
        "<p>Score on the release's queries dated after the model's release date against those "
        "dated on or before it (queries in brackets), and the difference after − before with "
        "its 95% bootstrap interval (each slice resampled independently). &ldquo;–&rdquo;: a "
        "slice with fewer than 30 queries (docs/releases.md).</p>",
        "<table><thead><tr><th>Model</th><th>Task</th><th>Release date</th><th>After</th>"
        "<th>Before</th><th>Δ [95% CI]</th></tr></thead>",
        f"<tbody>{body}</tbody></table>", "</section>"])


def _csv_value(value: object) -> object:
    """A CSV cell: empty for None, compact JSON for a mapping (``training_overlap``)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""
    return value


def _csv_intervals(row: dict) -> dict[str, object]:
    """A JSON row's intervals as flat CSV cells: ``<column>_ci_low`` and ``<column>_ci_high``
    for every score column (None where it has no interval), ``rank_interval_best``,
    ``rank_interval_worst`` and ``tied_with_first``."""
    ci, rank = row["ci"], row["rank_interval"] or (None, None)
    cells: dict[str, object] = {}
    for column in score_columns():
        low, high = ci.get(column, (None, None))
        cells |= {f"{column}_ci_low": low, f"{column}_ci_high": high}
    return cells | {"rank_interval_best": rank[0], "rank_interval_worst": rank[1],
                    "tied_with_first": row["tied_with_first"]}


def _footnotes(board: Board) -> list[str]:
    return [f'<p class="foot">{marker} {html.escape(text)}</p>'
            for marker, text in BoardView.of(board).footnotes()]


def _num(value: float | None) -> str:
    return "" if value is None else repr(value)


def _correlation_html(report: CorrelationReport | str) -> str:
    head = ('<section class="correlation"><h3>Rank correlation: CMedQA against the new tasks '
            "(the paper's Table 2)</h3>")
    if not isinstance(report, CorrelationReport):
        return f'{head}\n<p class="empty">Not computed: {html.escape(report)}</p>\n</section>'
    labels = list(TASK_COLUMNS.values())
    matrix = "".join(f"<tr><th scope=\"row\">{label}</th>"
                     + "".join(f"<td>{v:.3f}</td>" for v in row) + "</tr>"
                     for label, row in zip(labels, report.task_matrix, strict=True))
    models = "".join(f"<tr><td>{html.escape(m.name)}</td><td>{m.cmedqa_avg:.2f}</td>"
                     f"<td>{m.new_avg:.2f}</td></tr>" for m in report.models)
    skipped = "".join(f"<li>{html.escape(n)}: {html.escape(r)}</li>" for n, r in report.skipped)
    return "\n".join([
        head, f"<p>{len(report.models)} models with all five tasks. Does a model's rank on the "
        "public CMedQA tasks predict its rank on MedTEB's new tasks?</p>",
        '<div class="table-wrap"><table class="small"><thead><tr><th scope="col">Benchmark</th>'
        '<th scope="col">Avg Score</th><th scope="col">Spearman (p-value)</th></tr></thead>'
        "<tbody>",
        f"<tr><th scope=\"row\">CMedQA</th><td>{report.cmedqa_mean:.2f}</td>"
        # one correlation between the two rows, as in the paper's Table 2: no empty cell
        f"<td rowspan=\"2\">{report.spearman_rho:.3f} ({report.spearman_p:.3f})</td></tr>",
        f"<tr><th scope=\"row\">New Tasks</th><td>{report.new_mean:.2f}</td></tr>",
        "</tbody></table></div>", "<ul>",
        f"<li>Spearman's ρ = {report.spearman_rho:.3f}, p = {report.spearman_p:.3f}</li>",
        f"<li>Kendall's τ = {report.kendall_tau:.3f}, p = {report.kendall_p:.3f}</li>",
        f"<li>95% bootstrap CI for ρ: [{report.ci_low:.3f}, {report.ci_high:.3f}] (percentile; "
        f"{report.resamples} resamples of the models, seed {report.seed}, "
        f"{report.resamples_used} with a defined ρ)</li>", "</ul>",
        "<details><summary>Spearman's ρ between tasks</summary>",
        '<div class="table-wrap"><table class="small"><thead><tr><td></td>'
        + "".join(f'<th scope="col">{label}</th>' for label in labels) + "</tr></thead>"
        f"<tbody>{matrix}</tbody></table></div></details>",
        f"<details><summary>Models used ({len(report.models)})</summary>",
        '<div class="table-wrap"><table class="small"><thead><tr><th scope="col">Model</th>'
        '<th scope="col">CMedQA avg</th><th scope="col">New-task avg</th></tr></thead>'
        f"<tbody>{models}</tbody></table></div>"
        + (f"<p>Skipped:</p><ul>{skipped}</ul>" if skipped else "") + "</details>",
        "</section>"])

"""The paper's Figure 1, from the leaderboard: average score against query-encoder size (or QPS).

Two renderers share the points (:func:`figure_points`) and the label placement
(:func:`medteb.results.labels.place_labels`), so no label covers another or a marker:

- :func:`render_figure`: ``leaderboard.png`` / ``.svg`` (matplotlib, Agg backend; the SVG carries
  no date and a fixed hash salt, so it is reproducible);
- :func:`svg_scatter`: the inline SVG of the static site (hand-written, deterministic, a
  ``<title>`` on every point so that hovering shows its name).

Pure: both return text or bytes; the CLI writes files.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from medteb.results.labels import Box, place_labels, text_width
from medteb.results.leaderboard import format_params

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from medteb.results.leaderboard import Board, Leaderboard

#: boards drawn, with their marker (the sample board is a smoke test and is never plotted)
PLOTTED = {"zero-shot": "o", "fine-tuned": "^"}
#: what the x axis can show: the row attribute and the axis title
X_AXES = {"params": "Query-encoder parameters (log scale)",
          "qps": "Queries encoded per second, QPS (log scale)"}


@dataclass(frozen=True)
class Point:
    """One model on a figure: x (parameters or QPS), y (Avg, 0–100), its name and row index."""

    x: float
    y: float
    name: str
    row: int


def figure_points(board: Board, x: str = "params") -> list[Point]:
    """The board's models with an Avg and a positive x value (query parameters or QPS)."""
    points = []
    for i, row in enumerate(board.rows):
        value = row.params_query if x == "params" else row.qps
        if (avg := row.average("Avg")) is not None and value:
            points.append(Point(float(value), 100 * avg, row.display_name, i))
    return points


def draw_figure(board: Leaderboard) -> Figure:
    """The matplotlib figure of :func:`render_figure`, labels placed (tests inspect it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from medteb.results.layout import SETTING_TITLES

    fig, ax = plt.subplots(figsize=(7.5, 5.2), dpi=120)
    series = [(marker, SETTING_TITLES[s], figure_points(board.board(s)))
              for s, marker in PLOTTED.items()]
    drawn = [(marker, title, points) for marker, title, points in series if points]
    for marker, title, points in drawn:
        ax.scatter([p.x for p in points], [p.y for p in points], marker=marker, label=title,
                   s=22, zorder=3)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_params(round(v))))
    ax.set_xlabel(X_AXES["params"])
    ax.set_ylabel("MedTEB Avg (five tasks, 0–100)")
    ax.set_title("MedTEB: average score against query-encoder size")
    ax.grid(True, alpha=0.3)
    everything = [p for _, _, points in drawn for p in points]
    if not everything:
        return fig
    xs, ys = [p.x for p in everything], [p.y for p in everything]
    ax.set_xlim(min(xs) / 2.2, max(xs) * 3.5)  # room for labels on both sides
    ax.set_ylim(min(ys) - 1.5, max(ys) + 1.5)
    legend = ax.legend(loc="lower right")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    pixel = fig.dpi / 72  # display pixels per point
    anchors, sizes = [], []
    for p in everything:  # measure each label as drawn, then place them all
        probe = ax.text(p.x, p.y, p.name, fontsize=6)
        extent = probe.get_window_extent(renderer)
        probe.remove()
        anchors.append(tuple(ax.transData.transform((p.x, p.y))))
        sizes.append((extent.width + 1, extent.height))
    area = ax.get_window_extent(renderer)
    keep_out = legend.get_window_extent(renderer)
    boxes = place_labels(anchors, sizes, Box(area.x0, area.y0, area.x1, area.y1),
                         marker=3.5 * pixel,
                         obstacles=[Box(keep_out.x0, keep_out.y0, keep_out.x1, keep_out.y1)])
    for p, (x, y), box in zip(everything, anchors, boxes, strict=True):
        if box is None:  # no free place: the point stays unlabelled rather than overlapped
            continue
        if _needs_leader((x, y), box):
            end = ax.transData.inverted().transform(box.nearest((x, y)))
            ax.plot([p.x, end[0]], [p.y, end[1]], lw=0.4, color="0.55", zorder=2)
        ax.annotate(p.name, (p.x, p.y), xytext=((box.x0 - x) / pixel, (box.y0 - y) / pixel),
                    textcoords="offset points", fontsize=6, ha="left", va="bottom", zorder=4)
    return fig


def render_figure(board: Leaderboard) -> dict[str, bytes]:
    """Draw Avg (all five tasks) against the query encoder's parameters, one series per setting.

    Returns:
        ``{"png": ..., "svg": ...}``; models without an average or a parameter count are left out.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"svg.hashsalt": "medteb", "font.size": 8}):
        fig = draw_figure(board)
        out = {}
        for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, metadata=metadata, bbox_inches="tight")
            out[fmt] = buffer.getvalue()
        plt.close(fig)
    return out


def _needs_leader(point: tuple[float, float], box: Box) -> bool:
    near = box.nearest(point)
    return math.dist(point, near) > 12


# --- the site's inline SVG --------------------------------------------------------------------

WIDTH, HEIGHT = 800, 500
MARGIN = {"left": 58, "right": 14, "top": 14, "bottom": 46}
FONT = 11.0


def svg_scatter(points: Sequence[Point], x_axis: str, y_title: str, row_ids: Sequence[str],
                label: str) -> str:
    """An inline ``<svg>`` scatter plot: log x axis, labels placed without overlap.

    Args:
        points: from :func:`figure_points`; must not be empty.
        x_axis: ``params`` or ``qps`` (tick format and axis title).
        y_title: the y axis title.
        row_ids: the id of each row of the board (a point's ``data-row`` names its row, so
            that the page hides the points of filtered-out rows).
        label: the figure's accessible name.
    """
    left, top = MARGIN["left"], MARGIN["top"]
    right, bottom = WIDTH - MARGIN["right"], HEIGHT - MARGIN["bottom"]
    lo, hi = _log_range([p.x for p in points])
    ymin, ymax, ystep = _linear_range([p.y for p in points])

    def sx(value: float) -> float:
        return left + (math.log10(value) - lo) / (hi - lo) * (right - left)

    def sy(value: float) -> float:
        return bottom - (value - ymin) / (ymax - ymin) * (bottom - top)

    parts = [f'<svg class="scatter" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{html.escape(label)}" xmlns="http://www.w3.org/2000/svg">',
             f'<rect class="plot" x="{left}" y="{top}" width="{right - left}" '
             f'height="{bottom - top}"/>']
    for exponent in range(math.ceil(lo), math.floor(hi) + 1):
        x = sx(10.0**exponent)
        tick = format_params(10**exponent) if x_axis == "params" else f"{10**exponent:,}"
        parts += [f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}"/>',
                  f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" '
                  f'text-anchor="middle">{tick}</text>']
    steps = round((ymax - ymin) / ystep)
    for k in range(steps + 1):
        value = ymin + k * ystep
        y = sy(value)
        parts += [f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>',
                  f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" '
                  f'text-anchor="end">{value:g}</text>']
    parts += [f'<text class="axis" x="{(left + right) / 2:.1f}" y="{HEIGHT - 8}" '
              f'text-anchor="middle">{html.escape(X_AXES[x_axis])}</text>',
              f'<text class="axis" transform="translate(14 {(top + bottom) / 2:.1f}) '
              f'rotate(-90)" text-anchor="middle">{html.escape(y_title)}</text>']
    anchors = [(sx(p.x), sy(p.y)) for p in points]
    sizes = [(text_width(p.name, FONT) + 2, FONT * 1.3) for p in points]
    boxes = place_labels(anchors, sizes, Box(left, top, right, bottom), marker=4.5)
    for p, (x, y), box in zip(points, anchors, boxes, strict=True):
        value = format_params(round(p.x)) if x_axis == "params" else f"{p.x:.1f} QPS"
        parts.append(f'<g class="point" data-row="{row_ids[p.row]}"><title>'
                     f'{html.escape(p.name)}: Avg {p.y:.2f}, {value}</title>')
        if box is not None and _needs_leader((x, y), box):
            nx, ny = box.nearest((x, y))
            parts.append(f'<line class="leader" x1="{x:.1f}" y1="{y:.1f}" x2="{nx:.1f}" '
                         f'y2="{ny:.1f}"/>')
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4"/>')
        if box is not None:
            parts.append(f'<text class="label" x="{box.x0 + 1:.1f}" '
                         f'y="{box.y1 - FONT * 0.32:.1f}">{html.escape(p.name)}</text>')
        parts.append("</g>")
    return "\n".join([*parts, "</svg>"])


def _log_range(values: Sequence[float]) -> tuple[float, float]:
    """log10 bounds padded for labels: a quarter decade left, 0.6 of a decade right."""
    lo, hi = math.log10(min(values)) - 0.25, math.log10(max(values)) + 0.6
    return lo, max(hi, lo + 1)


def _linear_range(values: Sequence[float]) -> tuple[float, float, float]:
    """A y range on a round step (1, 2, 2.5 or 5 times a power of ten), padded for labels."""
    low, high = min(values), max(values)
    span = max(high - low, 1.0)
    raw = span / 6
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return math.floor((low - span * 0.06) / step) * step, math.ceil(
        (high + span * 0.15) / step) * step, step

"""The paper's Figure 1, from the leaderboard: average score against query-encoder parameters.

Pure: returns the images' bytes; the CLI writes them next to ``leaderboard.md``. matplotlib runs
with the Agg backend; the SVG carries no date and a fixed hash salt, so it is reproducible.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medteb.results.leaderboard import Leaderboard

#: boards drawn, with their marker (the sample board is a smoke test and is never plotted)
PLOTTED = {"zero-shot": "o", "fine-tuned": "^"}


def render_figure(board: Leaderboard) -> dict[str, bytes]:
    """Draw Avg (all five tasks) against the query encoder's parameters, one series per setting.

    Returns:
        ``{"png": ..., "svg": ...}``; models without an average or a parameter count are left out.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from medteb.results.layout import SETTING_TITLES

    with matplotlib.rc_context({"svg.hashsalt": "medteb", "font.size": 8}):
        fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
        for setting, marker in PLOTTED.items():
            points = [(r.params_query, 100 * avg, r.display_name) for r in board.board(setting).rows
                      if (avg := r.average("Avg")) is not None and r.params_query]
            if not points:
                continue
            xs, ys, _ = zip(*points, strict=True)
            ax.scatter(xs, ys, marker=marker, label=SETTING_TITLES[setting])
            for x, y, name in points:
                ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=6)
        ax.set_xscale("log")
        ax.set_xlabel("Query-encoder parameters (log scale)")
        ax.set_ylabel("MedTEB Avg (five tasks, 0–100)")
        ax.set_title("MedTEB: average score against query-encoder size")
        ax.grid(True, alpha=0.3)
        if ax.collections:
            ax.legend(loc="lower right")
        out = {}
        for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, metadata=metadata, bbox_inches="tight")
            out[fmt] = buffer.getvalue()
        plt.close(fig)
    return out

"""Pieces shared by the subcommands: logging set-up and argument types."""

from __future__ import annotations

import logging
import os

DEMO_NOTE = (
    "With no -m, `medteb run` is the offline demo: the bm25-zh baseline on the bundled sample "
    "(a smoke test written by the MedTEB authors, not the benchmark)."
)


def device(value: str) -> str:
    """``--device`` values: a GPU index means ``cuda:<index>``."""
    return f"cuda:{value}" if value.isdigit() else value


def configure_logging(verbosity: int) -> None:
    """0 errors only, 1 warnings (progress bars on), 2 info, 3 debug (also the libraries')."""
    level = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}[verbosity]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("mteb", "datasets", "sentence_transformers", "transformers", "httpx"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING if verbosity < 3 else level))


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write a file through a temporary file in the same folder and a rename."""
    import tempfile
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make results unreadable to others
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def regenerate_leaderboard(results: str | os.PathLike, output: str | os.PathLike,
                           figure: bool = True) -> list[str]:
    """Rewrite ``leaderboard.md`` (and its figure) from a results folder; return skip notes."""
    from pathlib import Path

    from medteb.leaderboard import FIGURE_NAME, Leaderboard
    from medteb.results import load_entries

    entries, skipped = load_entries(results)
    board = Leaderboard.from_entries(entries, figure=FIGURE_NAME if figure else None)
    target = Path(output)
    if figure:
        from medteb.figure import render_figure

        for fmt, data in render_figure(board).items():
            write_atomic(target.parent / f"{FIGURE_NAME}.{fmt}", data)
    write_atomic(target, board.to_markdown())
    return skipped

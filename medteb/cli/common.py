"""Pieces shared by the subcommands: logging set-up and argument types."""

from __future__ import annotations

import logging

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

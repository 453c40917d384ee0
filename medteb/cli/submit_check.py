"""``medteb submit --check BASE``: the pull request check CI runs (medteb/results/pr_check.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def check_pr(args: argparse.Namespace, derive: Callable[..., dict[Path, bytes]]) -> int:
    """Print the pull request comment; list every problem on stderr and return 1 if any.

    ``derive`` is ``medteb submit``'s own ``derived_files`` (the regenerated files)."""
    from medteb.results.pr_check import check_pull_request

    report = check_pull_request(
        Path.cwd(), args.check, derive=derive,
        predictions=Path(args.predictions) if args.predictions else None,
        data_dir=args.data_dir)
    print(report.to_markdown(), end="")
    for problem in report.problems:
        print(f"medteb: {problem}", file=sys.stderr)
    return 0 if report.ok else 1

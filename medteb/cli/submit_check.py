"""``medteb submit --check BASE``: the pull request check CI runs (medteb/results/pr_check.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def check_pr(args: argparse.Namespace) -> int:
    """Print the pull request comment; list every problem on stderr and return 1 if any."""
    from medteb.results.pr_check import check_pull_request

    report = check_pull_request(
        Path.cwd(), args.check,
        predictions=Path(args.predictions) if args.predictions else None,
        data_dir=args.data_dir, releases_dir=args.releases_dir,
        allow_hidden_labels=args.allow_hidden_labels)
    print(report.to_markdown(), end="")
    for problem in report.problems:
        print(f"medteb: {problem}", file=sys.stderr)
    return 0 if report.ok else 1

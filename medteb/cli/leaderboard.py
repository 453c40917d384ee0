"""``medteb leaderboard``: regenerate leaderboard.md (and its figure) from results/."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "leaderboard", help="regenerate leaderboard.md from results/",
        description="Regenerate leaderboard.md from the result files in results/: one board per "
                    "setting (zero-shot, fine-tuned, sample), and a figure of average score "
                    "against query-encoder parameters (leaderboard.png / .svg next to it).")
    parser.add_argument("--results", default="results", help="results folder (default: results)")
    parser.add_argument("--output", default="leaderboard.md",
                        help="markdown file to write (default: leaderboard.md)")
    parser.add_argument("--no-figure", action="store_true", help="do not draw the figure")
    parser.set_defaults(func=_leaderboard)


def _leaderboard(args: argparse.Namespace) -> int:
    from medteb.cli.common import regenerate_leaderboard

    for note in regenerate_leaderboard(args.results, args.output, figure=not args.no_figure):
        print(f"medteb: skipped {note}", file=sys.stderr)
    print(f"wrote {args.output}")
    return 0

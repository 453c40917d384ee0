"""``medteb score P --labels DIR``: the main scores of a prediction folder against labels."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score", help="score a run's predictions against a label folder (hidden labels)",
        description="Recompute the main score of each task predicted in P (a run's "
                    "--prediction-folder, or one <org__model>/<revision> folder of it) against "
                    "the labels in DIR, a data folder in the data format (docs/data_format.md) "
                    "kept apart from the published, label-free release. The same computation "
                    "verifies scores in `medteb submit`. Every problem is listed and the exit "
                    "status is 1. See docs/maintaining.md.")
    parser.add_argument("predictions", metavar="P", help="the prediction folder")
    parser.add_argument("--labels", required=True, metavar="DIR",
                        help="the data folder with the labels (one <TaskName>/ per task)")
    parser.add_argument("-t", "--tasks", nargs="+", default=None,
                        help="score only these tasks (default: every task predicted in P)")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown",
                        help="markdown table (default) or JSON: "
                             '{"tasks": {"<Task>": {"main_score": ...}}, ...}')
    parser.set_defaults(func=_score)


def _score(args: argparse.Namespace) -> int:
    from medteb.results.scoring import ScoringError, score_predictions

    try:
        report = score_predictions(args.predictions, args.labels, args.tasks)
    except ScoringError as err:
        print(f"medteb: {err}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.to_markdown(), end="")
    return 0

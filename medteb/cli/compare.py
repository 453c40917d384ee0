"""``medteb compare``: paired statistics of two or more runs on the same data."""

from __future__ import annotations

import argparse
import json

from medteb.cli.arg_types import positive_int


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare runs per task: difference, paired bootstrap CI, randomization p-value",
        description=(
            "Compare two or more runs on the same data, per task: a - b with its 95% paired "
            "bootstrap interval, a two-sided paired randomization p-value (Holm-adjusted "
            "across tasks), per-query wins/ties/losses and the queries where they differ "
            "most. Each RUN is a `medteb run --prediction-folder` folder "
            "(<org__model>/<revision>/, or a folder holding one) or a folder of "
            "<Task>.per_query.jsonl files. More than two runs: every pair. See docs/analysis.md."
        ),
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help="two or more run folders")
    parser.add_argument("--data-dir", default=None,
                        help="the labels' data folder, as given to `medteb run` (default: "
                             "'sample' for runs on the sample, else $MEDTEB_DATA_DIR / the "
                             "published release)")
    parser.add_argument("--resamples", type=positive_int, default=10_000,
                        help="bootstrap resamples and randomization permutations (default "
                             "10,000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--top", type=int, default=5,
                        help="queries shown where the runs differ most, per task (default 5)")
    parser.add_argument("--format", choices=("table", "json", "html"), default="table",
                        help="table (Markdown, default), json (0-1 scale) or html")
    parser.set_defaults(func=_compare)


def _compare(args: argparse.Namespace) -> int:
    from medteb._hub import go_offline
    from medteb.analysis.compare import compare
    from medteb.analysis.runs import load_run
    from medteb.errors import AnalysisError

    if len(args.runs) < 2:
        raise AnalysisError(f"compare needs at least two runs, got {len(args.runs)}")
    go_offline()  # labels come from --data-dir or the local cache; nothing is downloaded here
    cache: dict = {}
    runs = [load_run(path, args.data_dir, cache) for path in args.runs]
    report = compare(runs, resamples=args.resamples, seed=args.seed, top=args.top)
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    elif args.format == "html":
        print(report.to_html(), end="")
    else:
        print(report.to_markdown(), end="")
    return 0

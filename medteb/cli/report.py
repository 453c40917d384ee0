"""``medteb report correlation``: the paper's Table 2 recomputed from results/."""

from __future__ import annotations

import argparse

from medteb.benchmark.definitions import SETTINGS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="analyses of results/ (the paper's tables)",
                                   description="Reports computed from the results folder "
                                               "(the web page shows them too: "
                                               "docs/leaderboard.md).")
    reports = parser.add_subparsers(title="reports", metavar="REPORT", required=True)
    corr = reports.add_parser(
        "correlation", help="Spearman rank correlation of CMedQA vs the new tasks (Table 2)",
        description="For one setting, every model with all five tasks: its CMedQA average vs "
                    "its new-task average; Spearman's rho and p-value (the paper's Table 2), "
                    "Kendall's tau, a bootstrap 95% CI for rho (10,000 resamples, seed 0) and "
                    "the pairwise Spearman matrix of the five tasks. The settings are the boards "
                    "of docs/submitting_results.md; the web page shows the report "
                    "(docs/leaderboard.md).")
    corr.add_argument("--results", default="results", help="results folder (default: results)")
    corr.add_argument("--setting", choices=(*SETTINGS, "undeclared"), default=None,
                      help="which group of models: a board of results/, or 'undeclared' for "
                           "results without a submission.yaml (a folder written by `medteb run` "
                           "or mteb; sample results of such a folder are in 'sample'). Default: "
                           "zero-shot (as in the paper), or undeclared when the folder has no "
                           "zero-shot result but undeclared ones")
    corr.add_argument("--format", choices=("markdown", "json"), default="markdown",
                      help="a Markdown report (default) or the report's JSON")
    corr.set_defaults(func=_correlation)


def _correlation(args: argparse.Namespace) -> int:
    from medteb.results.correlation import correlation_report, default_group
    from medteb.results.layout import load_entries, load_run_entries

    entries, _ = load_entries(args.results)
    everything = [*entries, *load_run_entries(args.results)]
    report = correlation_report(everything, setting=args.setting or default_group(everything))
    print(report.to_json() if args.format == "json" else report.to_markdown(), end="")
    return 0

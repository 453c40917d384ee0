"""``medteb submit PATH``: validate a run's results, copy them into results/, regenerate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medteb.benchmark.definitions import SETTINGS
from medteb.cli.arg_types import non_negative_int
from medteb.errors import MedtebError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "submit", help="add a run's results to results/ and leaderboard.md",
        description="Validate the results under PATH (a folder as `medteb run` writes it) and, "
                    "if every check passes, copy them atomically into results/ and regenerate "
                    "leaderboard.md (and the web site, when its folder exists). On any problem "
                    "nothing is written: every problem is listed and the exit status is 1. "
                    "Recommended: pass --predictions with the run's --prediction-folder so that "
                    "the scores are recomputed and verified. See docs/submitting_results.md.")
    parser.add_argument("path", nargs="?",
                        help="the run's output folder (or one <org__model>/<revision>); with "
                             "--labels, optional: the run's results of public tasks (CMedQA)")
    parser.add_argument("--check", metavar="BASE", default=None,
                        help="CI: check that HEAD's changes since the git ref BASE are exactly "
                             "what `medteb submit` writes from the entries they add (see "
                             "docs/maintaining.md); prints the pull request comment")
    parser.add_argument("--allow-hidden-labels", action="store_true",
                        help="with --check: the pull request may add entries scored on hidden "
                             "labels (CI passes it only for the repository's members; no check "
                             "can recompute those scores). Default: refused")
    parser.add_argument("--setting", choices=SETTINGS, default=None,
                        help="zero-shot or fine-tuned (required for benchmark data; results on "
                             "the bundled sample always go to the 'sample' board)")
    parser.add_argument("--training-data", nargs="+", default=None, metavar="NAME",
                        help="mteb task names of the training data, when model_meta.json's "
                             "training_datasets is null ('none' for none)")
    parser.add_argument("--parameters", nargs="+", type=non_negative_int, default=None,
                        metavar="N",
                        help="the parameter count when model_meta.json has none (a served "
                             "model: api/<model>): N for a model, QUERY DOCUMENT for an "
                             "asymmetric pair; recorded in the entry's model_meta.json")
    parser.add_argument("--predictions", "--prediction-folder", default=None,
                        help="the run's --prediction-folder: recompute and verify every score")
    parser.add_argument("--labels", default=None, metavar="DIR",
                        help="maintainers: score the MedTEB tasks of --predictions P (a run on "
                             "a hidden-label release) on the labels in DIR, the release's data "
                             "with its labels, and file them marked 'hidden labels' on the board "
                             "(see docs/maintaining.md)")
    parser.add_argument("--data-dir", default=None,
                        help="MedTEB data to recompute benchmark scores on (as `medteb run`)")
    parser.add_argument("--contamination-report", default=None, metavar="FILE",
                        help="attach a contamination audit (the JSON of `medteb contamination "
                             "--format json` on the model's training data) to the entry: the "
                             "board marks each score whose task it found in the training data "
                             "(docs/contamination.md)")
    parser.add_argument("--releases-dir", default=None, metavar="DIR",
                        help="the releases folder: where results on a release (`medteb run "
                             "--release V`) find it to check their data revision, also with "
                             "--check, and where the regenerated board's Post-cutoff column "
                             "finds the query dates (default: $MEDTEB_RELEASES_DIR, else "
                             "./releases)")
    parser.add_argument("--replace", action="store_true",
                        help="replace a result already in results/")
    parser.add_argument("--results", default="results",
                        help="the leaderboard's results folder; it must exist (default: "
                             "./results, as in a MedTEB checkout)")
    parser.add_argument("--leaderboard", default="leaderboard.md",
                        help="leaderboard file to regenerate (default: leaderboard.md)")
    parser.add_argument("--site", default="site", metavar="DIR",
                        help="web site to rebuild after a successful submission, if DIR exists "
                             "(default: site; see `medteb leaderboard --html`)")
    parser.set_defaults(func=_submit)


def _submit(args: argparse.Namespace) -> int:
    from medteb.errors import SubmissionError
    from medteb.results.commit import commit_submission
    from medteb.results.layout import load_entries
    from medteb.results.outputs import derived_files
    from medteb.results.submit import SubmitOptions, plan_submission

    if args.check is not None:  # the pull request check: medteb/cli/submit_check.py
        from medteb.cli.submit_check import check_pr

        return check_pr(args)
    if args.labels is not None and args.predictions is None:
        raise MedtebError("--labels DIR scores a run's predictions: add --predictions P (the "
                          "run's --prediction-folder)")
    if args.path is None and args.labels is None:
        raise MedtebError("give PATH, a run's output folder (or --check BASE in CI)")
    results = Path(args.results)
    if not results.is_dir():
        raise MedtebError(
            f"no results folder {str(results)!r} here: run `medteb submit` in a MedTEB checkout "
            "(it adds to the leaderboard's results/), or pass --results DIR (an existing folder)")
    options = SubmitOptions(
        setting=args.setting, training_datasets=args.training_data, replace=args.replace,
        parameters=tuple(args.parameters) if args.parameters else None,
        predictions=Path(args.predictions) if args.predictions else None, data_dir=args.data_dir,
        releases_dir=args.releases_dir,
        contamination_report=Path(args.contamination_report) if args.contamination_report
        else None, labels=args.labels,
    )
    try:
        if args.labels is not None:  # a run on a hidden-label release: medteb/results/hidden.py
            from medteb.results.hidden import plan_hidden_submission

            plan = plan_hidden_submission(args.path, results, options)
        else:
            plan = plan_submission(args.path, results, options)
    except SubmissionError as err:
        print(f"medteb: {err}", file=sys.stderr)
        return 1
    load_entries(results)  # a broken results/ fails here, before anything is written
    site = Path(args.site) if Path(args.site).is_dir() else None
    notes = commit_submission(plan, results, lambda: derived_files(
        results, args.leaderboard, site, releases=args.releases_dir))
    print(plan.to_markdown(), end="")
    print(f"copied into {args.results}/ and regenerated {args.leaderboard}")
    if site is not None:
        print(f"rebuilt the web site in {args.site}/")
    for note in notes:
        print(f"medteb: warning: {note}", file=sys.stderr)
    return 0

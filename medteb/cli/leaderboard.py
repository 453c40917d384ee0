"""``medteb leaderboard``: regenerate leaderboard.md (and its figure), or the static site."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medteb.results.outputs import DEFAULT_SITE


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "leaderboard", help="regenerate leaderboard.md (or the web page) from results/",
        description="Regenerate leaderboard.md from the result files in results/: one board per "
                    "setting (zero-shot, fine-tuned, sample) on one release of the data "
                    "(the latest with results, or --release V), and a figure of average score "
                    "against query-encoder parameters (leaderboard.png / .svg next to it). With "
                    "--html, write the static web site instead (index.html, leaderboard.json, "
                    "leaderboard.csv): sortable, filterable, no server needed; `medteb submit` "
                    "rebuilds it whenever its folder exists. See docs/leaderboard.md.")
    parser.add_argument("--results", default="results", help="results folder (default: results)")
    parser.add_argument("--output", default=None,
                        help="markdown file to write (default: leaderboard.md; for a run "
                             "folder, RESULTS/leaderboard.md)")
    parser.add_argument("--no-figure", action="store_true", help="do not draw the figure")
    parser.add_argument("--html", nargs="?", const="", default=None, metavar="DIR",
                        help=f"write the web site into DIR (default: {DEFAULT_SITE}; for a run "
                             "folder, RESULTS/site) instead of leaderboard.md")
    parser.add_argument("--results-url", default=None, metavar="URL",
                        help="with --html: the base of each row's provenance link, "
                             "URL/<org__model>/<revision>/submission.yaml, e.g. "
                             "https://github.com/ORG/medteb/blob/main/results (default: the "
                             "one the site already in DIR was built with, else the results "
                             "folder's path relative to DIR; `medteb submit` keeps it too)")
    parser.add_argument("--release", default=None, metavar="V",
                        help="show the zero-shot and fine-tuned boards of release V (default: "
                             "the latest release with results; 'unreleased' is the paper's "
                             "data); releases are never ranked together (docs/releases.md)")
    parser.add_argument("--releases-dir", default=None, metavar="DIR",
                        help="the releases folder, where the Post-cutoff column finds each "
                             "release's query dates (default: $MEDTEB_RELEASES_DIR, else "
                             "./releases; without it the column shows '–')")
    # a private board of one's own runs (results.runboard)
    parser.add_argument("--predictions", default=None, metavar="PREDS",
                        help="with --results RUNS, a `medteb run` output folder: its "
                             "--prediction-folder, scored per query for the intervals, rank "
                             "intervals and ties (without it: no intervals)")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="with --predictions: the labels' data (default: the run's; "
                             "'sample' for a sample run)")
    parser.set_defaults(func=_leaderboard)


def _leaderboard(args: argparse.Namespace) -> int:
    if args.results_url is not None and args.html is None:
        from medteb.errors import MedtebError

        raise MedtebError("--results-url is for the web site: add --html [DIR]")
    from medteb.results.outputs import regenerate_leaderboard, write_site
    from medteb.results.runboard import is_run_folder, run_entries

    run_folder = (args.predictions is not None or args.data_dir is not None
                  or is_run_folder(args.results))
    _check_releases_dir(args.releases_dir, run_folder)
    # a run folder's entries, shown as not submitted
    loaded = run_entries(args.results, args.predictions, args.data_dir) if run_folder else None
    home = Path(args.results) if loaded is not None else Path()
    if args.html is not None:
        site = args.html or str(home / DEFAULT_SITE)
        for note in write_site(args.results, site, args.results_url, args.release, loaded,
                               args.releases_dir):
            print(f"medteb: skipped {note}", file=sys.stderr)
        print(f"wrote {Path(site) / 'index.html'} (open it in a browser)")
        return 0
    args.output = args.output or str(home / "leaderboard.md")
    for note in regenerate_leaderboard(args.results, args.output, figure=not args.no_figure,
                                       release=args.release, loaded=loaded,
                                       releases=args.releases_dir):
        print(f"medteb: skipped {note}", file=sys.stderr)
    print(f"wrote {args.output}")
    return 0


def _check_releases_dir(given: str | None, run_folder: bool) -> None:
    """A --releases-dir that would be ignored or names no folder is a mistake, not a '–'."""
    if given is None:
        return
    from medteb.errors import MedtebError

    if run_folder:
        raise MedtebError("--releases-dir is for the boards of results/ (their Post-cutoff "
                          "column); a run folder's board has no Post-cutoff column")
    if not Path(given).expanduser().is_dir():
        raise MedtebError(f"--releases-dir {given}: no such folder (the releases folder holds "
                          "one folder per release, RELEASES/V/; see docs/releases.md)")

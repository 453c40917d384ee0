"""``medteb leaderboard``: regenerate leaderboard.md (and its figure), or the static site."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

#: the site folder `medteb leaderboard --html` writes by default; `medteb submit` rebuilds it
#: after a successful submission whenever it exists
DEFAULT_SITE = "site"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "leaderboard", help="regenerate leaderboard.md (or the web page) from results/",
        description="Regenerate leaderboard.md from the result files in results/: one board per "
                    "setting (zero-shot, fine-tuned, sample), and a figure of average score "
                    "against query-encoder parameters (leaderboard.png / .svg next to it). With "
                    "--html, write the static web site instead (index.html, leaderboard.json, "
                    "leaderboard.csv): sortable, filterable, no server needed; `medteb submit` "
                    "rebuilds it whenever its folder exists. See docs/leaderboard.md.")
    parser.add_argument("--results", default="results", help="results folder (default: results)")
    parser.add_argument("--output", default="leaderboard.md",
                        help="markdown file to write (default: leaderboard.md)")
    parser.add_argument("--no-figure", action="store_true", help="do not draw the figure")
    parser.add_argument("--html", nargs="?", const=DEFAULT_SITE, default=None, metavar="DIR",
                        help=f"write the web site into DIR (default: {DEFAULT_SITE}) instead of "
                             "leaderboard.md")
    parser.add_argument("--results-url", default=None, metavar="URL",
                        help="with --html: the base of each row's provenance link, "
                             "URL/<org__model>/<revision>/submission.yaml, e.g. "
                             "https://github.com/ORG/medteb/blob/main/results (default: the "
                             "one the site already in DIR was built with, else the results "
                             "folder's path relative to DIR; `medteb submit` keeps it too)")
    parser.set_defaults(func=_leaderboard)


def _leaderboard(args: argparse.Namespace) -> int:
    if args.results_url is not None and args.html is None:
        from medteb.errors import MedtebError

        raise MedtebError("--results-url is for the web site: add --html [DIR]")
    if args.html is not None:
        for note in write_site(args.results, args.html, args.results_url):
            print(f"medteb: skipped {note}", file=sys.stderr)
        print(f"wrote {Path(args.html) / 'index.html'} (open it in a browser)")
        return 0
    from medteb.cli.common import regenerate_leaderboard

    for note in regenerate_leaderboard(args.results, args.output, figure=not args.no_figure):
        print(f"medteb: skipped {note}", file=sys.stderr)
    print(f"wrote {args.output}")
    return 0


def write_site(results: str | os.PathLike, folder: str | os.PathLike,
               results_url: str | None = None) -> list[str]:
    """Write the static site of a results folder into ``folder``; return the skip notes.

    Every file is written atomically; the data files first, ``index.html`` last.
    """
    from medteb._fileio import write_atomic

    files, skipped = site_files(results, folder, results_url)
    Path(folder).mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        write_atomic(path, data)
    return skipped


def site_files(results: str | os.PathLike, folder: str | os.PathLike,
               results_url: str | None = None) -> tuple[dict[Path, bytes], list[str]]:
    """The bytes of the static site's files for a results folder, by path (the data files
    first, ``index.html`` last), and the notes on folders passed over; writes nothing.

    Args:
        results_url: the base of the provenance links; default: the one the site already in
            ``folder`` was built with, else ``results`` relative to ``folder`` (works from
            ``file://`` in a clone and on a host serving the repository).
    """
    from medteb.results.layout import load_entries
    from medteb.results.site import SITE_FILES, build_site

    entries, skipped = load_entries(results)
    target = Path(folder)
    if results_url is None:
        results_url = recorded_results_url(target) or Path(
            os.path.relpath(Path(results).resolve(), target.resolve())).as_posix()
    files = build_site(entries, results_url).files()
    return ({target / name: files[name]
             for name in sorted(SITE_FILES, key=lambda n: n == "index.html")}, skipped)


def recorded_results_url(folder: Path) -> str | None:
    """The provenance links' base recorded by the site in ``folder``, if one is there."""
    import json

    try:
        url = json.loads((folder / "leaderboard.json").read_text("utf-8")).get("results_url")
    except (OSError, ValueError, AttributeError):  # no site yet, or not one of ours
        return None
    return url if isinstance(url, str) and url else None

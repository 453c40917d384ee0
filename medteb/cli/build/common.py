"""Helpers shared by the ``medteb build`` stage modules: stage parsers, judge flags, paths."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medteb.errors import BuildInputError

DOC = "docs/building_data.md"


def stage_parser(stages: argparse._SubParsersAction, name: str, help_text: str,
                 func: Any) -> argparse.ArgumentParser:
    parser = stages.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("-v", "--verbosity", type=int, choices=(0, 1, 2), default=1,
                        help="0 quiet, 1 progress bars (default), 2 also info logs")
    parser.set_defaults(func=func)
    return parser


def judge_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--judges", required=True,
                        help="YAML/JSON file: judges: [{name, base_url, model, api_key_env, "
                             "concurrency, ...}] (" + DOC + ")")
    parser.add_argument("--store", default=None,
                        help="append-only response store (default: <work>/llm_responses.jsonl); "
                             "keep it: a rerun answers finished calls from it")
    parser.add_argument("--retry-failures", action="store_true",
                        help="ask again where a judge's answer stayed malformed")
    parser.add_argument("--max-consecutive-failures", type=_at_least_one, default=5,
                        metavar="K",
                        help="stop a judge after K failed requests in a row (timeouts, dropped "
                             "connections, HTTP 5xx); its calls stay pending (default 5)")


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number


#: exit status of a stage whose LLM calls did not all finish (pending or failed)
INCOMPLETE = 1


def call_status(stats: Any) -> int:
    """0 when every LLM call finished, else :data:`INCOMPLETE` (pending *or* failed calls)."""
    return INCOMPLETE if stats.incomplete else 0


@contextlib.contextmanager
def graceful_termination() -> Iterator[None]:
    """Within the block, SIGTERM behaves like Ctrl-C: in-flight calls finish and are stored,
    then the run stops. The previous handler is restored afterwards."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled in the main thread
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def store_path(args: argparse.Namespace, work: Path) -> Path:
    return Path(args.store) if args.store else work / "llm_responses.jsonl"


def need(path: Path, produced_by: str) -> Path:
    if not path.is_file():
        raise BuildInputError(f"{path}: missing; it is produced by `medteb build {produced_by}`")
    return path


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def quiet_libraries(args: argparse.Namespace) -> None:
    """With -v 0, silence the progress bars of the libraries a model runs through."""
    if args.verbosity == 0:
        import datasets

        datasets.disable_progress_bars()


def say(args: argparse.Namespace, text: str) -> None:
    if args.verbosity >= 1:
        print(text, file=sys.stderr)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True)

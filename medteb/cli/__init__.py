"""The ``medteb`` command: argparse only; each subcommand lives in its own module here.

A subcommand module exposes ``add_parser(subparsers)``, which registers the parser and sets
``func`` to a callable taking the parsed arguments and returning the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from medteb import __version__
from medteb.cli.common import DEMO_NOTE
from medteb.errors import MedtebError

#: subcommand modules of ``medteb.cli``, in the order ``medteb --help`` lists them
COMMANDS = ("run", "encode_documents", "speed", "available_tasks", "leaderboard", "report",
            "submit", "import_data", "build", "train", "export", "compare", "score",
            "reproduce", "contamination", "release")


#: flags of ``medteb`` itself; any other leading flag belongs to the implicit ``run``
_TOP_LEVEL_FLAGS = ("-h", "--help", "--version")


def build_parser() -> argparse.ArgumentParser:
    """The ``medteb`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="medteb",
        description="MedTEB: the Chinese Medical Text Embedding Benchmark on the mteb runner.",
        epilog=DEMO_NOTE + " Flags given without a command are `medteb run`'s: "
               "`medteb -m MODEL` is `medteb run -m MODEL`.",
    )
    parser.add_argument("--version", action="version", version=f"medteb {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        importlib.import_module(f"medteb.cli.{command}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``medteb`` command; returns the exit status.

    User mistakes (``MedtebError``) print one line and return 2, without a traceback.
    """
    parser = build_parser()
    argv = list(argv if argv is not None else sys.argv[1:])
    if not argv or (argv[0].startswith("-") and argv[0] not in _TOP_LEVEL_FLAGS):
        argv = ["run", *argv]  # no command, or flags first: the implicit `medteb run`
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MedtebError as err:
        print(f"medteb: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("medteb: interrupted; finished work is saved and is not redone on the next run",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

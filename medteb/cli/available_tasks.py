"""``medteb available-tasks``: the tasks of the benchmark and where their data comes from."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "available-tasks", help="list the MedTEB tasks",
        description="List the tasks of the MedTEB benchmark: type, main score and where the "
                    "data comes from (a release, --data-dir DIR or the bundled sample; "
                    "docs/data_format.md).")
    parser.set_defaults(func=_available_tasks)


def _available_tasks(args: argparse.Namespace) -> int:
    from medteb.benchmark.definitions import load_definitions
    from medteb.benchmark.tasks import get_task

    for name, definition in load_definitions().items():
        if definition.kind == "mteb":
            source = "mteb task, Hugging Face Hub"
        elif definition.source.huggingface:
            source = f"release {definition.source.huggingface.path}"
        else:
            source = "release pending; --data-dir DIR or 'sample'"
        metadata = get_task(name).metadata
        print(f"{name:<20} {metadata.type:<10} {metadata.main_score:<15} {source}")
    return 0

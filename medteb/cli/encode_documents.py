"""``medteb encode-documents``: fill the document store for later query-encoder runs."""

from __future__ import annotations

import argparse

from medteb.cli.arg_types import device, positive_int
from medteb.cli.common import (
    add_asymmetric_arguments,
    asymmetric_spec,
    configure_logging,
)
from medteb.cli.ray_options import add_ray_arguments, ray_settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "encode-documents",
        help="encode tasks' documents once with a document encoder, for asymmetric runs",
        description=(
            "Encode every document of the given tasks with a document encoder and keep the "
            "vectors in the document store. Later `medteb run --query-model Q --document-model "
            "D --stored-documents-only` evaluations re-use them without loading D (e.g. encode "
            "on a GPU machine, copy the store, evaluate query encoders on a laptop). Already "
            "stored documents are skipped, so an interrupted run resumes. "
            "With --ray, Ray workers (local, or a cluster's GPUs) share the encoding. "
            "See docs/asymmetric_models.md and docs/distributed_encoding.md."
        ),
    )
    parser.add_argument("-t", "--tasks", nargs="+", default=None,
                        help="tasks whose documents to encode (default: all MedTEB tasks)")
    parser.add_argument("--data-dir", default=None,
                        help="MedTEB data folder (docs/data_format.md) or 'sample'")
    parser.add_argument("--eval-splits", nargs="+", default=None,
                        help="splits to encode (default: each task's evaluation splits)")
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="batch size (default 32)")
    parser.add_argument("--device", type=device, default=None,
                        help="torch device: cpu, cuda, cuda:1 or a GPU index (default: auto)")
    parser.add_argument("-v", "--verbosity", type=int, choices=(0, 1, 2, 3), default=1,
                        help="0 errors only, 1 progress (default), 2 info logs, 3 debug logs")
    add_asymmetric_arguments(parser, documents_only=True)
    add_ray_arguments(parser)
    parser.set_defaults(func=_encode_documents)


def _encode_documents(args: argparse.Namespace) -> int:
    from rich.console import Console

    from medteb._hub import decide_hub_access

    configure_logging(args.verbosity)
    decide_hub_access()  # once, before mteb or huggingface_hub is imported
    from medteb.evaluation.encode_documents import encode_documents
    from medteb.models.document_store import default_store_root

    spec = asymmetric_spec(args, documents_only=True)
    ray = ray_settings(args)
    console = Console(stderr=True)
    progress = console.print if args.verbosity >= 1 else (lambda *_: None)
    outcomes = encode_documents(spec.with_device(args.device), args.tasks, args.data_dir,
                                args.eval_splits, args.batch_size,
                                show_progress=args.verbosity >= 1, on_progress=progress,
                                ray=ray)
    print("| Task | Split | Documents | Encoded now | Note |")
    print("|---|---|---:|---:|---|")
    for o in outcomes:
        print(f"| {o.task} | {o.split or ''} | {o.documents} | {o.encoded} | {o.skipped or ''} |")
    store = spec.store or default_store_root()
    print(f"Document vectors are in {store}")
    return 0

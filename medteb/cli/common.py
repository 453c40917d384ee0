"""Pieces shared by the subcommands: logging set-up and pair arguments."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from medteb.cli.arg_types import device, positive_int
from medteb.errors import MedtebError

if TYPE_CHECKING:
    from medteb.models.asymmetric import AsymmetricSpec

DEMO_NOTE = (
    "With no -m, `medteb run` is the offline demo: the bm25-zh baseline on the bundled sample "
    "(a smoke test written by the MedTEB authors, not the benchmark)."
)


def configure_logging(verbosity: int) -> None:
    """0 errors only, 1 warnings (progress bars on), 2 info, 3 debug (also the libraries')."""
    level = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}[verbosity]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("mteb", "datasets", "sentence_transformers", "transformers", "httpx",
                  "httpx2"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING if verbosity < 3 else level))


def add_asymmetric_arguments(parser: argparse.ArgumentParser, documents_only: bool = False) -> None:
    """The flags that define an asymmetric pair (docs/asymmetric_models.md).

    Args:
        documents_only: only the document-side flags (``medteb encode-documents``).
    """
    from medteb.models.sides import (
        DEFAULT_MAX_LENGTH,
        DEFAULT_QUERY_TEMPLATE,
        DTYPES,
        PAPER_QUERY_TEMPLATE,
        POOLINGS,
    )

    group = parser.add_argument_group(
        "asymmetric pair" if not documents_only else "document encoder",
        "a query encoder and a document encoder evaluated as one model "
        "(docs/asymmetric_models.md); documents are encoded once and kept in a document store")
    if not documents_only:
        group.add_argument("--query-model", default=None,
                           help="query encoder: a local folder or a Hugging Face name")
    group.add_argument("--document-model", default=None, required=documents_only,
                       help="document encoder: a local folder or a Hugging Face name")
    sides = ("document",) if documents_only else ("query", "document")
    for side in sides:
        group.add_argument(f"--{side}-pooling", choices=POOLINGS, default="auto",
                           help=f"{side} pooling; 'auto' (default) embeds exactly as "
                                "`medteb run -m MODEL` does (the model's own pooling and "
                                "prompts); cls, mean or last-token (EOS appended) pool a plain "
                                "transformers model MedTEB's way")
        group.add_argument(f"--{side}-max-length", type=positive_int, default=None,
                           help=f"truncate {side} inputs to this many tokens (default: the "
                                f"model's own with 'auto' pooling, else {DEFAULT_MAX_LENGTH})")
        group.add_argument(f"--{side}-batch-size", type=positive_int, default=None,
                           help=f"{side} batch size (default: --batch-size)")
        group.add_argument(f"--{side}-device", type=device, default=None,
                           help=f"{side} device (default: --device)")
        group.add_argument(f"--{side}-dtype", choices=DTYPES, default="float32",
                           help=f"{side} weights' dtype (default float32)")
        group.add_argument(f"--{side}-revision", default=None,
                           help=f"revision recorded for the {side} model (default: a "
                                "fingerprint of local weights, or the Hub commit)")
    group.add_argument("--truncate-dim", type=positive_int, default=None,
                       help="Matryoshka: keep the first N dimensions of both sides, then "
                            "L2-normalise (needed when the sides' dimensions differ)")
    group.add_argument("--document-template", default="{text}",
                       help="how documents are presented; {text} is the document, "
                            "{instruction} the task's instruction (default: '{text}')")
    if not documents_only:
        group.add_argument("--name", default=None,
                           help="name the results are filed under, 'org/name' "
                                "(default: asym/<query>+<document> for a pair, api/<model> "
                                "for -m api/<model>)")
        group.add_argument("--query-template", default=DEFAULT_QUERY_TEMPLATE,
                           help="how queries are presented; {text} is the query, {instruction} "
                                "the task's instruction (default: "
                                f"{DEFAULT_QUERY_TEMPLATE!r}, the query as it is)")
        group.add_argument("--paper-instructions", action="store_const", dest="query_template",
                           const=PAPER_QUERY_TEMPLATE,
                           help="present queries as the paper's Table 8 does: "
                                f"{PAPER_QUERY_TEMPLATE!r} (recorded in the results)")
        group.add_argument("--no-instructions", action="store_true",
                           help="present queries as they are (the default; same as "
                                "--query-template '{text}')")
        group.add_argument("--sts-side", choices=("query", "document"), default="query",
                           help="which encoder embeds STS sentences (default: query, the "
                                "online path)")
        group.add_argument("--stored-documents-only", action="store_true",
                           help="do not load the document model: use only vectors that "
                                "`medteb encode-documents` stored")
    group.add_argument("--document-store", default=None,
                       help="document store folder (default: $MEDTEB_DOCUMENT_STORE, then "
                            "~/.cache/medteb/documents)")
    if not documents_only:
        group.add_argument("--no-document-store", action="store_true",
                           help="encode documents on every run and store nothing")


def asymmetric_spec(args: argparse.Namespace,
                    documents_only: bool = False) -> AsymmetricSpec | None:
    """The :class:`AsymmetricSpec` the flags describe, or None when no pair was asked for.

    Raises:
        MedtebError: half a pair, or a pair combined with -m.
    """
    query_model = getattr(args, "query_model", None)
    if not documents_only:
        if query_model is None and args.document_model is None:
            return None
        if query_model is None or args.document_model is None:
            raise MedtebError("an asymmetric pair needs both --query-model and --document-model")
        if getattr(args, "model", None):
            raise MedtebError("give either -m MODEL or --query-model/--document-model, not both")
        if getattr(args, "model_revision", None):
            raise MedtebError("--model-revision is for -m; a pair takes --query-revision and "
                              "--document-revision")

    from medteb.models.asymmetric import AsymmetricSpec  # imports mteb: only for a pair
    from medteb.models.sides import SideConfig

    def side(name: str, model: str) -> SideConfig:
        from medteb.cli.api_args import api_config
        from medteb.models.kinds import kind_of

        return SideConfig(
            model=model, pooling=getattr(args, f"{name}_pooling"),
            api=api_config(args, name) if kind_of(model).served else None,
            max_length=getattr(args, f"{name}_max_length"),
            batch_size=getattr(args, f"{name}_batch_size") or args.batch_size,
            device=getattr(args, f"{name}_device") or args.device,
            dtype=getattr(args, f"{name}_dtype"), revision=getattr(args, f"{name}_revision"))

    document = side("document", args.document_model)
    query = side("query", query_model) if not documents_only else document
    template = getattr(args, "query_template", "{text}")
    spec = AsymmetricSpec(
        query=query, document=document, truncate_dim=args.truncate_dim,
        name=getattr(args, "name", None),
        query_template="{text}" if getattr(args, "no_instructions", False) else template,
        document_template=args.document_template, sts_side=getattr(args, "sts_side", "query"),
        store=args.document_store, use_store=not getattr(args, "no_document_store", False),
        store_only=getattr(args, "stored_documents_only", False),
    )
    spec.check()  # before any data is read or model loaded
    return spec

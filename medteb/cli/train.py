"""``medteb train``: the paper's two-stage recipe for an asymmetric pair (docs/training.md)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from medteb._fileio import write_atomic
from medteb.cli.arg_types import device, positive_int
from medteb.cli.common import configure_logging

if TYPE_CHECKING:
    from medteb.train.recipe import PairRecipe

STAGE_FLAGS = (("document", "document-encoder preparation"), ("alignment", "Stage I"),
               ("joint", "Stage II"))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train an asymmetric pair with the paper's two-stage recipe",
        description="Turn a (small query encoder, large decoder-only document encoder) pair "
                    "into an asymmetric retriever (paper §4, Appendix D, G) that `medteb run` "
                    "evaluates. See docs/training.md.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    data = commands.add_parser(
        "alignment-data", help="collect Stage I alignment texts from text files",
        description="Collect texts (queries and documents alike; each is its own positive in "
                    "Stage I) from .txt (one a line), .jsonl (text/query/pos/neg/... fields) "
                    ".csv/.tsv (a content/text column) files; strip and de-duplicate them, and "
                    "write one {\"text\": ...} JSON object a line.")
    data.add_argument("files", nargs="+", help="source text files")
    data.add_argument("-o", "--output", required=True, help="the .jsonl file to write")
    data.add_argument("--min-chars", type=positive_int, default=2,
                      help="drop texts shorter than this (default 2)")
    data.add_argument("--max-texts", type=positive_int, default=None,
                      help="keep at most this many texts (first seen first)")
    data.set_defaults(func=_alignment_data)

    pair = commands.add_parser(
        "pair", help="document preparation, Stage I alignment and Stage II joint fine-tuning",
        description="Run the recipe and save OUTPUT/query (sentence-transformers), "
                    "OUTPUT/document (transformers, LoRA merged), OUTPUT/medteb_pair.json and "
                    "a model card; print the `medteb run` command that evaluates the pair. "
                    "Running it again resumes: finished stages are skipped and the running "
                    "stage continues from its newest checkpoint.")
    pair.add_argument("--query-model", required=True, help="query encoder (folder or Hub name)")
    pair.add_argument("--document-model", required=True,
                      help="decoder-only document encoder (folder or Hub name)")
    pair.add_argument("--alignment-data", nargs="+", required=True,
                      help="Stage I texts: files `medteb train alignment-data` accepts")
    pair.add_argument("--train-data", required=True,
                      help="Stage II triplets: a .jsonl of {query, pos, neg} or a "
                           "MedTEB-Retrieval folder")
    pair.add_argument("--document-data", default=None,
                      help="document-preparation triplets (default: --train-data)")
    pair.add_argument("-o", "--output", required=True, help="output folder")
    pair.add_argument("--name", default=None,
                      help="name the pair's results are filed under, 'organisation/name' "
                           "(default: local/<output folder name>)")
    pair.add_argument("--skip-document-stage", action="store_true",
                      help="the document encoder is already prepared (e.g. by `medteb train "
                           "document`): start at Stage I")
    pair.add_argument("--query-pooling", choices=("cls", "mean"), default="cls",
                      help="pooling of a plain transformers query model (default cls)")
    pair.add_argument("--query-max-length", type=positive_int, default=512,
                      help="query tokens kept in training (default 512)")
    pair.add_argument("--query-template", default="{text}",
                      help="how queries are presented in training and evaluation (default "
                           "'{text}': no instruction)")
    _add_shared(pair, STAGE_FLAGS)
    pair.set_defaults(func=_pair)

    document = commands.add_parser(
        "document", help="document-encoder preparation alone (LoRA + Matryoshka InfoNCE)",
        description="Fine-tune a decoder-only document encoder with LoRA, last-token pooling "
                    "and Matryoshka InfoNCE (paper Eq. 4), merge the adapters and save "
                    "OUTPUT/document; then train query encoders against it with `medteb train "
                    "pair --document-model OUTPUT/document --skip-document-stage`. Resumable.")
    document.add_argument("--document-model", required=True,
                          help="decoder-only document encoder (folder or Hub name)")
    document.add_argument("--train-data", required=True,
                          help="triplets: a .jsonl of {query, pos, neg} or a MedTEB-Retrieval "
                               "folder")
    document.add_argument("-o", "--output", required=True, help="output folder")
    _add_shared(document, STAGE_FLAGS[:1])
    document.set_defaults(func=_document)


def _add_shared(parser: argparse.ArgumentParser, stages: tuple[tuple[str, str], ...]) -> None:
    """Flags `train pair` and `train document` share."""
    parser.add_argument("--split", default="test",
                        help="qrels split of a MedTEB-Retrieval training folder (default: test)")
    parser.add_argument("--dim", type=positive_int, default=None,
                        help="compared dimension (pair default: the query encoder's width; a "
                             "linear projection is added to the query encoder if it differs)")
    parser.add_argument("--mrl-dims", type=positive_int, nargs="+", default=None,
                        help="Matryoshka dimensions of document preparation (default: dim, "
                             "doubled up to the document width, and the width)")
    parser.add_argument("--lora-rank", type=positive_int, default=32, help="(default 32)")
    parser.add_argument("--lora-alpha", type=positive_int, default=64, help="(default 64)")
    parser.add_argument("--lora-dropout", type=float, default=0.05, help="(default 0.05)")
    parser.add_argument("--document-max-length", type=positive_int, default=512,
                        help="document tokens kept in training (default 512)")
    parser.add_argument("--document-dtype", choices=("float32", "bfloat16", "float16"),
                        default="float32",
                        help="document encoder weights' dtype (default float32; LoRA adapters "
                             "stay float32)")
    parser.add_argument("--negatives-per-query", type=int, default=1,
                        help="hard negatives per query and step (default 1)")
    parser.add_argument("--learning-rate", type=float, default=1e-4,
                        help="peak learning rate of every stage (default 1e-4, as paper Table 20)")
    parser.add_argument("--epochs", type=positive_int, default=1, help="per stage (default 1)")
    parser.add_argument("--temperature", type=float, default=0.05,
                        help="InfoNCE τ (default 0.05)")
    parser.add_argument("--warmup-ratio", type=float, default=0.05, help="(default 0.05)")
    for stage, title in stages:
        parser.add_argument(f"--{stage}-batch-size", type=positive_int, default=32,
                            help=f"{title} batch size (default 32)")
        parser.add_argument(f"--{stage}-max-steps", type=positive_int, default=None,
                            help=f"stop {title} after this many steps (overrides --epochs)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto",
                        help="default auto: bf16 (or fp16) on a GPU, fp32 on CPU")
    parser.add_argument("--gradient-checkpointing", action="store_true",
                        help="recompute activations in the backward pass to save GPU memory "
                             "(default off; the paper trains with it on)")
    parser.add_argument("--checkpoint-every", type=positive_int, default=500,
                        help="steps between checkpoints (default 500)")
    parser.add_argument("--log-every", type=positive_int, default=10,
                        help="steps between loss lines (default 10)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of initialisation, data order and dropout (default 0)")
    parser.add_argument("--device", type=device, default=None,
                        help="torch device (default: auto)")
    parser.add_argument("--no-resume", action="store_true",
                        help="start over: discard finished stages and checkpoints in --output")
    parser.add_argument("-v", "--verbosity", type=int, choices=(0, 1, 2, 3), default=1,
                        help="0 errors only, 1 progress and losses (default), 2-3 logs")


def _alignment_data(args: argparse.Namespace) -> int:
    from medteb.train.data import alignment_texts

    texts = alignment_texts(args.files, min_chars=args.min_chars, max_texts=args.max_texts)
    write_atomic(args.output, "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n"
                                      for t in texts))
    print(f"{len(texts)} alignment texts written to {args.output}")
    return 0


def _recipe(args: argparse.Namespace, document_only: bool = False) -> PairRecipe:
    from medteb.train.loop import StageSettings
    from medteb.train.recipe import PairRecipe

    def settings(stage: str) -> StageSettings:
        return StageSettings(
            learning_rate=args.learning_rate, epochs=args.epochs,
            batch_size=getattr(args, f"{stage}_batch_size"),
            max_steps=getattr(args, f"{stage}_max_steps"), warmup_ratio=args.warmup_ratio,
            temperature=args.temperature, checkpoint_every=args.checkpoint_every,
            log_every=args.log_every, seed=args.seed, precision=args.precision,
            gradient_checkpointing=args.gradient_checkpointing)

    stages = {} if document_only else {"alignment_stage": settings("alignment"),
                                       "joint_stage": settings("joint")}
    query = {} if document_only else {"query_pooling": args.query_pooling,
                                      "query_max_length": args.query_max_length,
                                      "query_template": args.query_template}
    skip = getattr(args, "skip_document_stage", False)
    return PairRecipe(
        dim=args.dim, mrl_dims=tuple(args.mrl_dims) if args.mrl_dims else None,
        document_max_length=args.document_max_length, lora_rank=args.lora_rank,
        lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
        negatives_per_query=args.negatives_per_query,
        document_stage=None if skip else settings("document"),
        document_dtype=args.document_dtype, device=args.device, **stages, **query)


def _progress(args: argparse.Namespace) -> Callable[[str], None] | None:
    return (lambda line: print(line, file=sys.stderr)) if args.verbosity >= 1 else None


def _document(args: argparse.Namespace) -> int:
    from medteb.errors import TrainingError
    from medteb.train.data import read_triplets
    from medteb.train.pair import train_document_encoder

    configure_logging(args.verbosity)
    recipe = _recipe(args, document_only=True)
    recipe.check()
    if args.dim is None and not args.mrl_dims:
        raise TrainingError("give --dim (the query encoder's dimension) or --mrl-dims; the "
                            "Matryoshka loss needs the target dimension")
    triplets = read_triplets(args.train_data, args.split)
    out = Path(args.output).expanduser()
    if args.no_resume:
        shutil.rmtree(out / "checkpoints" / "document", ignore_errors=True)
    log = train_document_encoder(args.document_model, out / "document", triplets, recipe,
                                 args.dim or min(args.mrl_dims), out / "checkpoints" / "document",
                                 resume=not args.no_resume, on_progress=_progress(args),
                                 show_progress=args.verbosity >= 1)
    info = log.to_dict()
    print(f"document: {info['steps']} steps, loss {info['first_loss']} -> {info['last_loss']}, "
          f"{info['seconds']} s ({info['precision']})")
    print(f"Saved the prepared document encoder to {out / 'document'}. Train query encoders "
          f"against it with:\n  medteb train pair --document-model {out / 'document'} "
          "--skip-document-stage --query-model Q --alignment-data A --train-data T -o OUT")
    return 0


def _pair(args: argparse.Namespace) -> int:
    from medteb.train.data import alignment_texts, read_triplets
    from medteb.train.pair import train_pair

    configure_logging(args.verbosity)
    from medteb.train.pair import pair_name

    recipe = _recipe(args)
    recipe.check()
    pair_name(Path(args.output), args.name)  # a bad name fails before any training
    texts = alignment_texts(args.alignment_data, min_chars=1)
    triplets = read_triplets(args.train_data, args.split)
    document_triplets = (read_triplets(args.document_data, args.split)
                         if args.document_data else None)
    description = {
        "alignment data": f"{', '.join(args.alignment_data)} ({len(texts)} texts)",
        "training triplets": f"{args.train_data} ({len(triplets)} queries)",
    }
    if document_triplets is not None:
        description["document-preparation triplets"] = (f"{args.document_data} "
                                                         f"({len(document_triplets)} queries)")
    say = _progress(args)
    result = train_pair(args.query_model, args.document_model, args.output, texts, triplets,
                        recipe, document_triplets, description, resume=not args.no_resume,
                        on_progress=say, show_progress=args.verbosity >= 1, name=args.name)
    for log in result.logs:
        info = log.to_dict()
        print(f"{info['stage']}: {info['steps']} steps, loss {info['first_loss']} -> "
              f"{info['last_loss']}, {info['seconds']} s ({info['precision']})")
    print(f"Saved the pair to {result.output}. Evaluate it on MedTEB with:")
    print(f"  {result.command}")
    return 0

"""More ``medteb build`` stages: synonym STS, the CHIP-CDN importer and the benchmark audit."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from medteb.cli.build.common import (
    call_status,
    dumps,
    graceful_termination,
    judge_flags,
    need,
    say,
    stage_parser,
    store_path,
    today,
)
from medteb.errors import BuildInputError


def add_stage_parsers(stages: argparse._SubParsersAction) -> None:
    """Register the stages of this module."""
    p = stage_parser(stages, "import-cdn", "turn CHIP-CDN files (raw term -> standard terms "
                     "joined by ##) into a synonym dictionary (JSONL: origin, replace)", _cdn)
    p.add_argument("files", nargs="+", help="CHIP-CDN JSON files (e.g. CHIP-CDN_train.json)")
    p.add_argument("--out", required=True, help="the synonyms .jsonl to write")
    p.add_argument("--max-chars", type=int, default=12, help="longest term kept (default 12)")
    p.add_argument("--one-direction", action="store_true",
                   help="only raw -> standard (default: both directions)")

    p = stage_parser(stages, "sts", "generate synonym STS pairs with an LLM (Table 22) from "
                     "queries and a synonym dictionary; writes <out>/MedTEB-STS", _sts)
    p.add_argument("--in", dest="work", required=True, help="work folder with queries.jsonl")
    p.add_argument("--synonyms", required=True, help="JSONL of {origin, replace} pairs")
    p.add_argument("--out", required=True, help="data directory to write (--data-dir)")
    judge_flags(p)
    p.add_argument("--generator", default=None,
                   help="name of the judge to generate with (default: the first)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the kind of pair sampled per query (default 0)")

    p = stage_parser(stages, "audit", "re-judge a retriever's top-k documents on a local "
                     "retrieval task and report false positives / negatives (Table 13)",
                     _audit)
    p.add_argument("--task-dir", required=True,
                   help="a task folder in the data format, e.g. DIR/MedTEB-Retrieval")
    p.add_argument("--split", default="test", help="the qrels split audited (default: test)")
    p.add_argument("-r", "--retriever", required=True, help="any model `medteb run` accepts")
    p.add_argument("-k", "--top-k", type=int, default=50,
                   help="documents re-judged per query (default 50)")
    p.add_argument("--work", required=True, help="folder for the store and the audit report")
    judge_flags(p)
    p.add_argument("--passages-per-request", type=int, default=10,
                   help="passages a judge rates in one call (default 10)")


def _cdn(args: argparse.Namespace) -> int:
    from medteb.build.io import write_jsonl
    from medteb.build.sts import import_chip_cdn

    records = []
    for file in args.files:
        try:
            data = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise BuildInputError(f"{file}: cannot read as a CHIP-CDN JSON list ({err})") from err
        if not isinstance(data, list):
            raise BuildInputError(f"{file}: expected a JSON list of "
                                  '{"text", "normalized_result"} records')
        records += data
    pairs, skipped = import_chip_cdn(records, max_chars=args.max_chars,
                                     both_directions=not args.one_direction)
    write_jsonl(args.out, pairs)
    print(f"{len(pairs)} synonym pairs from {len(records)} records -> {args.out}; skipped: "
          + ", ".join(f"{k} {v}" for k, v in skipped.items()))
    return 0


def _sts(args: argparse.Namespace) -> int:
    from medteb.build.export import STS, validate_export, write_datasheet
    from medteb.build.io import read_jsonl, read_texts, write_json, write_jsonl
    from medteb.build.llm import ResponseStore, call_problems, load_judges
    from medteb.build.sts import PROMPT_VERSION, build_sts

    logging.getLogger("httpx").setLevel(logging.WARNING)
    work, out = Path(args.work), Path(args.out)
    judges = {j.name: j for j in load_judges(args.judges)}
    name = args.generator or next(iter(judges))
    if name not in judges:
        raise BuildInputError(f"--generator {name!r} is not in {args.judges} "
                              f"(judges: {', '.join(judges)})")
    queries = read_texts(need(work / "queries.jsonl", "prepare"))
    synonyms = read_jsonl(args.synonyms)
    with graceful_termination():
        report = build_sts(queries, synonyms, judges[name],
                           ResponseStore(store_path(args, work)), seed=args.seed,
                           retry_failures=args.retry_failures,
                           show_progress=args.verbosity >= 1,
                           max_consecutive_failures=args.max_consecutive_failures)
    write_jsonl(work / "sts_generated.jsonl", report.generated)
    write_json(work / "sts_report.json", {**report.to_dict(),
                                          "last_errors": report.stats.last_errors,
                                          "stopped": report.stats.stopped})
    print(report.to_markdown(), end="")
    for line in call_problems(report.stats):
        print(line)
    if not report.rows:
        raise BuildInputError("no STS pair could be generated (see the failures above)")
    write_jsonl(out / STS / "sts" / "test.jsonl", report.rows)
    validate_export(out, [STS])
    counts = {STS: {"pairs": len(report.rows),
                    "label 1": sum(r["score"] for r in report.rows),
                    "label 0": sum(1 - r["score"] for r in report.rows)}}
    judge = judges[name]
    facts = {"judges": [f"generator {name}: {judge.model} at {judge.base_url}"],
             "prompt_versions": [f"synonym STS: {PROMPT_VERSION}"],
             "sts": {"queries with a dictionary term": report.matched,
                     "sampled": report.counts, "generation failures": len(report.failures),
                     "synonym dictionary": args.synonyms, "seed": args.seed},
             "judging": {"retry_failures": args.retry_failures,
                         "max_consecutive_failures": args.max_consecutive_failures,
                         f"generator {name}": judge.model_dump(exclude={"name", "base_url",
                                                                       "model"})}}
    sheet = out / "datasheet.json"
    if sheet.is_file():  # an export of retrieval/rerank is already there: keep its facts
        old = json.loads(sheet.read_text(encoding="utf-8"))
        counts = {**old.pop("counts", {}), **counts}
        for key in ("judges", "prompt_versions"):
            facts[key] = list(dict.fromkeys([*old.get(key, []), *facts[key]]))
        facts["judging"] = {**old.get("judging", {}), **facts["judging"]}
        facts = {**old, **facts}
        facts.pop("built_on", None)
    write_datasheet(out, counts, facts, today())
    say(args, f"Wrote {out / STS}; evaluate with `medteb run -m MODEL --data-dir {out} -t {STS}`")
    return call_status(report.stats)


def _audit(args: argparse.Namespace) -> int:
    from medteb.benchmark.data.formats import read_retrieval
    from medteb.build.audit import audit_task
    from medteb.build.io import write_json, write_text
    from medteb.build.llm import ResponseStore, call_problems, load_judges
    from medteb.build.pool import retrieve
    from medteb.models import load_model

    logging.getLogger("httpx").setLevel(logging.WARNING)
    work = Path(args.work)
    judges = load_judges(args.judges)
    data = read_retrieval(Path(args.task_dir), args.split, reranking=False)
    queries = {q["id"]: q for q in data.queries}
    corpus = {d["id"]: d for d in data.corpus}
    say(args, f"{args.retriever}: retrieving the top {args.top_k} for {len(queries)} queries")
    rankings = retrieve(load_model(args.retriever), queries, corpus, args.top_k)
    with graceful_termination():
        report = audit_task(queries, corpus, data.relevant_docs, rankings, judges,
                            ResponseStore(store_path(args, work)),
                            passages_per_request=args.passages_per_request,
                            retry_failures=args.retry_failures,
                            show_progress=args.verbosity >= 1,
                            max_consecutive_failures=args.max_consecutive_failures)
    write_json(work / "audit_report.json",
               {"task_dir": str(args.task_dir), "retriever": args.retriever,
                "top_k": args.top_k, **report.to_dict()})
    write_text(work / "audit_report.md", report.to_markdown(examples=20))
    print(report.to_markdown(), end="")
    print(dumps(report.averages))
    for line in call_problems(report.judging.stats):
        print(line)
    return call_status(report.judging.stats)

"""The stages of ``medteb build`` (argparse and file names only; the engine is medteb.build)."""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path

from medteb.cli.build.common import (
    call_status,
    dumps,
    graceful_termination,
    judge_flags,
    need,
    quiet_libraries,
    say,
    stage_parser,
    store_path,
    today,
)
from medteb.cli.ray_options import add_ray_arguments, ray_settings
from medteb.errors import BuildInputError
from medteb.models.names import slug

QUERIES, CORPUS, POOL, JUDGMENTS = "queries.jsonl", "corpus.jsonl", "pool.jsonl", "judgments.jsonl"


def add_stage_parsers(stages: argparse._SubParsersAction) -> None:
    p = stage_parser(stages, "prepare", "clean, anonymise and deduplicate raw queries and "
                     "documents into <out>/queries.jsonl and <out>/corpus.jsonl", _prepare)
    p.add_argument("--queries", help="raw queries: .jsonl, .csv or .txt (one per line)")
    p.add_argument("--documents", help="raw documents: .jsonl, .csv or .txt")
    p.add_argument("--query-field", default="text",
                   help="JSONL key / CSV column of queries (default: text)")
    p.add_argument("--document-field", default="text",
                   help="JSONL key / CSV column of documents (default: text)")
    p.add_argument("--title-field", default=None, help="CSV column with document titles")
    p.add_argument("--id-field", default=None, help="key / column with ids to keep")
    p.add_argument("--date-field", default=None,
                   help="key / column with the date each query was asked or collected "
                        "(YYYY-MM-DD), kept as the query's date (docs/data_format.md)")
    p.add_argument("--encoding", default="utf-8",
                   help="input encoding (default utf-8), e.g. gb18030")
    p.add_argument("--limit", type=int, default=None, help="read only the first N records")
    p.add_argument("--min-query-chars", type=int, default=4,
                   help="drop queries shorter than this, after cleaning (default 4)")
    p.add_argument("--min-document-chars", type=int, default=10,
                   help="drop documents shorter than this, after cleaning (default 10)")
    p.add_argument("--out", required=True, help="work folder to write")

    p = stage_parser(stages, "diversify", "drop near-duplicate queries and documents "
                     "(FAISS over an embedder; Appendix C, Table 10)", _diversify)
    p.add_argument("--in", dest="work", required=True, help="work folder (from prepare)")
    p.add_argument("--out", required=True, help="folder for the diversified files")
    p.add_argument("-m", "--model", required=True,
                   help="embedder: any model `medteb run` accepts (bm25-zh, a local folder, ...)")
    for side, k, t, n in (("query", 5, 0.85, 1), ("document", 5, 0.78, 1)):
        p.add_argument(f"--{side}-k", type=int, default=k, help=f"neighbours (default {k})")
        p.add_argument(f"--{side}-t", type=float, default=t, help=f"threshold (default {t})")
        p.add_argument(f"--{side}-n", type=int, default=n, help=f"max similar (default {n})")
    p.add_argument("--query-seed", default=None,
                   help="JSONL of existing queries to seed the index with (never output)")
    p.add_argument("--document-seed", default=None,
                   help="JSONL of existing documents to seed the index with (the paper seeds "
                        "5,000 documents)")
    p.add_argument("--batch-size", type=int, default=32,
                   help="texts per encoding batch of the embedder (default 32)")

    p = stage_parser(stages, "pool", "pool each query's top-K documents from several "
                     "retrievers into <work>/pool.jsonl (Appendix B)", _pool)
    p.add_argument("--in", dest="work", required=True, help="work folder")
    p.add_argument("-r", "--retrievers", nargs="+", required=True,
                   help="models `medteb run` accepts, e.g. bm25-zh ./my-model BAAI/bge-m3")
    p.add_argument("-k", "--top-k", type=int, default=50, help="per retriever (default 50)")
    p.add_argument("--min-score", type=float, default=None,
                   help="keep only candidates scoring above this (e.g. 0 with bm25-zh: drops "
                        "documents sharing no term with the query); default: keep the top K")
    p.add_argument("--batch-size", type=int, default=32,
                   help="texts per encoding batch of a dense retriever (default 32)")
    p.add_argument("--document-store", default=None,
                   help="with --ray: where dense retrievers' document vectors are kept "
                        "(default: <work>/document_store); a rerun re-uses them")
    add_ray_arguments(p)

    p = stage_parser(stages, "judge", "rate every pooled pair with every LLM judge (Table 21) "
                     "and vote; resumable", _judge)
    p.add_argument("--in", dest="work", required=True, help="work folder (with pool.jsonl)")
    judge_flags(p)
    p.add_argument("--passages-per-request", type=int, default=10,
                   help="passages a judge rates in one call (default 10; changing it changes "
                        "the stored answers' keys)")
    p.add_argument("--relevant", nargs="+", default=["S", "A"], help="default: S A")
    p.add_argument("--irrelevant", nargs="+", default=["B", "C", "D"], help="default: B C D")

    p = stage_parser(stages, "export", "write MedTEB-Retrieval and MedTEB-Rerank folders and a "
                     "datasheet that `medteb run --data-dir` evaluates", _export)
    p.add_argument("--in", dest="work", required=True, help="work folder (with judgments.jsonl)")
    p.add_argument("--out", required=True, help="data directory to write (--data-dir)")
    p.add_argument("--positives", type=int, default=5,
                   help="rerank positives per query (default 5)")
    p.add_argument("--negatives", type=int, default=20,
                   help="rerank negatives per query (default 20)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the rerank candidates' sampling (default 0)")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="export even though some judge calls are pending or failed: their "
                        "pairs are dropped, and the datasheet records how many")


def _prepare(args: argparse.Namespace) -> int:
    from medteb.build.io import write_json, write_jsonl
    from medteb.build.prepare import prepare_texts, read_raw

    if not args.queries and not args.documents:
        raise BuildInputError("give --queries FILE and/or --documents FILE")
    out = Path(args.out)
    reports = {}
    for kind, file, field, prefix, min_chars, name in (
            ("queries", args.queries, args.query_field, "q", args.min_query_chars, QUERIES),
            ("documents", args.documents, args.document_field, "d", args.min_document_chars,
             CORPUS)):
        if not file:
            continue
        rows = read_raw(file, text_field=field, id_field=args.id_field, encoding=args.encoding,
                        limit=args.limit, title_field=args.title_field if kind == "documents"
                        else None, date_field=args.date_field if kind == "queries" else None)
        if not rows:
            raise BuildInputError(f"{file}: no {kind} in it (an empty input); nothing to build")
        kept, report = prepare_texts(rows, kind=kind, id_prefix=prefix, min_chars=min_chars)
        if not kept:
            dropped = ", ".join(f"{k} {v}" for k, v in report.to_dict()["dropped"].items())
            flag = "--min-query-chars" if kind == "queries" else "--min-document-chars"
            raise BuildInputError(f"{file}: none of its {len(rows)} {kind} was kept (dropped: "
                                  f"{dropped}); see {flag}")
        write_jsonl(out / name, kept)
        reports[kind] = report.to_dict()
        print(report.to_markdown(), end="")
    write_json(out / "prepare_report.json", reports)
    return 0


def _diversify(args: argparse.Namespace) -> int:
    from medteb.build.diversify import CachedEmbedder, DiversifyParams, diversify
    from medteb.build.io import read_texts, write_json, write_jsonl
    from medteb.models import load_model

    work, out = Path(args.work), Path(args.out)
    if work.resolve() == out.resolve():
        raise BuildInputError("--out must differ from --in (the inputs are kept for audit)")
    quiet_libraries(args)
    model = load_model(args.model)
    reports = {}
    for kind, name in (("query", QUERIES), ("document", CORPUS)):
        if not (work / name).is_file():
            continue
        rows = read_texts(work / name)
        params = DiversifyParams(k=getattr(args, f"{kind}_k"), t=getattr(args, f"{kind}_t"),
                                 n=getattr(args, f"{kind}_n"))
        seed_file = getattr(args, f"{kind}_seed")
        embedder = CachedEmbedder(model, args.model, out / "embeddings",
                                  as_queries=kind == "query", batch_size=args.batch_size)
        kept, report = diversify(rows, embedder, params, as_queries=kind == "query",
                                 batch_size=args.batch_size, show_progress=args.verbosity >= 1,
                                 seed_rows=read_texts(seed_file) if seed_file else None)
        write_jsonl(out / name, [rows[i] for i in kept])
        reports[kind] = {**report.to_dict(), "model": args.model, "seed": seed_file}
        print(report.to_markdown(kind), end="")
    write_json(out / "diversify_report.json", reports)
    if (work / "prepare_report.json").is_file():  # carried forward for the datasheet
        write_json(out / "prepare_report.json",
                   json.loads((work / "prepare_report.json").read_text(encoding="utf-8")))
    return 0


def _pool(args: argparse.Namespace) -> int:
    from medteb.build.io import need_rows, read_texts, write_json, write_jsonl
    from medteb.build.pool import merge_runs, retrieve, run_fingerprint
    from medteb.models import BM25_NAME, load_model
    from medteb.models.kinds import kind_of

    work = Path(args.work)
    ray = ray_settings(args)
    quiet_libraries(args)
    queries = need_rows(read_texts(need(work / QUERIES, "prepare")), work / QUERIES, "prepare")
    corpus = need_rows(read_texts(need(work / CORPUS, "prepare")), work / CORPUS, "prepare")
    runs = {}
    for name in args.retrievers:
        path = work / "pool_runs" / f"{slug(name, '_')}.json"
        fingerprint = run_fingerprint(name, args.top_k, queries, corpus, args.min_score)
        if path.is_file():
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved.get("fingerprint") == fingerprint:
                say(args, f"{name}: reusing {path}")
                runs[name] = saved["rankings"]
                continue
        say(args, f"{name}: retrieving the top {args.top_k} for {len(queries)} queries")
        model = load_model(name)
        # a dense model loaded here (not bm25-zh, not a served one): its corpus on Ray
        if ray is not None and name != BM25_NAME and not kind_of(name).served:
            from medteb.build.pool_ray import retrieve_with_ray

            rankings = retrieve_with_ray(
                model, name, queries, corpus, args.top_k, settings=ray,
                store_root=args.document_store or work / "document_store",
                batch_size=args.batch_size, min_score=args.min_score,
                show_progress=args.verbosity >= 1, on_progress=lambda m: say(args, m))
        else:
            rankings = retrieve(model, queries, corpus, args.top_k,
                                batch_size=args.batch_size, min_score=args.min_score)
        write_json(path, {"retriever": name, "top_k": args.top_k, "min_score": args.min_score,
                          "fingerprint": fingerprint, "rankings": rankings})
        runs[name] = rankings
    rows = merge_runs(runs, list(queries))
    write_jsonl(work / POOL, rows)
    pairs = sum(len(r["candidates"]) for r in rows)
    write_json(work / "pool_report.json", {"retrievers": args.retrievers, "top_k": args.top_k,
                                           "min_score": args.min_score, "queries": len(rows),
                                           "pairs": pairs})
    print(f"pool: {len(rows)} queries, {pairs} (query, document) pairs from "
          f"{len(args.retrievers)} retriever(s), top {args.top_k} each -> {work / POOL}")
    return 0


def _judge(args: argparse.Namespace) -> int:
    from medteb.build.io import need_rows, read_jsonl, read_texts, write_json, write_jsonl
    from medteb.build.judge import VotingRule, judge_pool
    from medteb.build.llm import ResponseStore, load_judges

    logging.getLogger("httpx").setLevel(logging.WARNING)
    work = Path(args.work)
    judges = load_judges(args.judges)
    rule = VotingRule(relevant=frozenset(args.relevant), irrelevant=frozenset(args.irrelevant))
    queries = need_rows(read_texts(need(work / QUERIES, "prepare")), work / QUERIES, "prepare")
    corpus = need_rows(read_texts(need(work / CORPUS, "prepare")), work / CORPUS, "prepare")
    pool = need_rows(read_jsonl(need(work / POOL, "pool")), work / POOL, "pool")
    store = ResponseStore(store_path(args, work))
    with graceful_termination():
        report = judge_pool(pool, queries, corpus, judges, store, rule=rule,
                            passages_per_request=args.passages_per_request,
                            retry_failures=args.retry_failures,
                            show_progress=args.verbosity >= 1,
                            max_consecutive_failures=args.max_consecutive_failures)
    write_jsonl(work / JUDGMENTS, report.rows)
    summary = report.to_dict()
    summary["judge_models"] = {j.name: {"model": j.model, "base_url": j.base_url}
                               for j in judges}
    summary["parameters"] = {  # every setting that shaped the judgments, for the datasheet
        "passages_per_request": args.passages_per_request, "relevant": sorted(args.relevant),
        "irrelevant": sorted(args.irrelevant), "retry_failures": args.retry_failures,
        "max_consecutive_failures": args.max_consecutive_failures,
        "judges": {j.name: j.model_dump(exclude={"name"}) for j in judges}}
    write_json(work / "judge_report.json", summary)
    print(report.to_markdown(), end="")
    return call_status(report.stats)


def _export(args: argparse.Namespace) -> int:
    from medteb.build.export import (
        RERANK,
        RETRIEVAL,
        plan_export,
        validate_export,
        write_datasheet,
        write_files,
    )
    from medteb.build.io import need_rows, read_jsonl, read_texts

    work, out = Path(args.work), Path(args.out)
    judgments = need_rows(read_jsonl(need(work / JUDGMENTS, "judge")), work / JUDGMENTS, "judge")
    unfinished = dict(sorted(Counter(str(r.get("status")) for r in judgments
                                     if r.get("status") in ("pending", "failed")).items()))
    if unfinished and not args.allow_incomplete:
        raise BuildInputError(
            f"{work / JUDGMENTS}: the build is incomplete ("
            + ", ".join(f"{n} {k} pair(s)" for k, n in unfinished.items()) + "): finish "
            "`medteb build judge` (rerun it; --retry-failures for failed calls), or pass "
            "--allow-incomplete to export without those pairs")
    plan = plan_export(judgments, read_texts(work / QUERIES), read_texts(work / CORPUS),
                       positives_per_query=args.positives, negatives_per_query=args.negatives,
                       seed=args.seed)
    write_files(out, plan.files)
    validate_export(out, [t for t in (RETRIEVAL, RERANK) if t in plan.counts])
    facts = {"sampling": {"rerank positives per query": args.positives,
                          "rerank negatives per query": args.negatives, "seed": args.seed}}
    for key, name in (("prepare", "prepare_report.json"),
                      ("diversify", "diversify_report.json"), ("pool", "pool_report.json"),
                      ("judge", "judge_report.json")):
        if (work / name).is_file():
            facts[key] = json.loads((work / name).read_text(encoding="utf-8"))
    facts["details"] = {k: facts.pop(k) for k in ("prepare", "diversify") if k in facts}
    for kind, r in facts["details"].get("prepare", {}).items():
        dropped = ", ".join(f"{k} {v}" for k, v in r["dropped"].items()) or "none"
        masked = ", ".join(f"{k} {v}" for k, v in r["masked"].items()) or "none"
        facts.setdefault("prepare", []).append(
            f"{kind}: read {r['read']}, kept {r['kept']}; dropped: {dropped}; masked: {masked}")
    for kind, r in facts["details"].get("diversify", {}).items():
        facts.setdefault("diversify", []).append(
            f"{kind}: read {r['read']}, kept {r['kept']}, dropped {r['dropped']} near-duplicates "
            f"(embedder {r['model']}, k={r['k']}, t={r['t']}, n={r['n']})")
    judge = facts.pop("judge", None)
    if judge:
        facts["judges"] = [f"{n}: {m['model']} at {m['base_url']}"
                           for n, m in judge.get("judge_models", {}).items()]
        facts["prompt_versions"] = [f"relevance: {judge['prompt_version']}"]
        facts["agreement"] = {"relevant grades": judge["relevant"],
                              "irrelevant grades": judge["irrelevant"],
                              **judge["agreement"], **judge["counts"],
                              "failures": len(judge["failures"])}
        parameters = judge.get("parameters", {})
        facts["judging"] = {k: v for k, v in parameters.items() if k != "judges"}
        for name, settings in parameters.get("judges", {}).items():
            facts["judging"][f"judge {name}"] = {k: v for k, v in settings.items()
                                                 if k not in ("base_url", "model")}
        if judge.get("stopped") or judge.get("last_errors"):
            facts["judging"]["judge errors"] = {**judge.get("last_errors", {}),
                                                **judge.get("stopped", {})}
    if unfinished:
        facts["incomplete"] = {f"{k} pairs dropped": n for k, n in unfinished.items()}
    write_datasheet(out, plan.counts, facts, today())
    print(dumps(plan.counts))
    print(f"Wrote {', '.join(plan.counts)} to {out}/ (datasheet.md); evaluate with "
          f"`medteb run -m MODEL --data-dir {out} -t {' '.join(plan.counts)}`")
    return 0

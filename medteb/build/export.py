"""Stage 5: judged pairs -> MedTEB-Retrieval and MedTEB-Rerank folders, with a datasheet.

- **Retrieval**: the queries with at least one positive; the corpus is every document that got
  a label (positive or negative) for one of them (the paper's judged corpus D'); qrels give
  positives score 1 and judged negatives score 0. Discarded pairs are left out of the qrels.
- **Rerank**: for each query with at least one positive and one negative, up to
  ``positives_per_query`` positives and ``negatives_per_query`` negatives sampled (seeded per
  query, so adding queries does not change other queries' samples) form its candidate list.

The files follow ``docs/data_format.md`` and are checked with the same readers ``medteb run``
uses before :func:`export_tasks` returns.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medteb.build.io import write_json, write_jsonl, write_text
from medteb.errors import BuildInputError

RETRIEVAL, RERANK, STS = "MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"


@dataclass(frozen=True)
class ExportPlan:
    """The files of the exported tasks (relative path -> rows) and their datasheet facts."""

    files: dict[str, Any]
    counts: dict[str, dict[str, int]]


def _rng(seed: int, key: str) -> random.Random:
    return random.Random(int(hashlib.sha256(f"{seed}\0{key}".encode()).hexdigest()[:16], 16))


def plan_export(judgments: Sequence[Mapping[str, Any]], queries: Mapping[str, Mapping[str, Any]],
                corpus: Mapping[str, Mapping[str, Any]], *, positives_per_query: int = 5,
                negatives_per_query: int = 20, seed: int = 0) -> ExportPlan:
    """Turn judged pairs (``{"query_id", "doc_id", "label"}``) into task files.

    Raises:
        BuildInputError: no query has a positive (nothing to evaluate), or unknown ids.
    """
    if positives_per_query < 1 or negatives_per_query < 1:
        raise BuildInputError("positives and negatives per query must be at least 1")
    labels: dict[str, dict[str, int]] = {}
    for row in judgments:
        if row.get("label") in (0, 1):
            qid, did = row["query_id"], row["doc_id"]
            if qid not in queries or did not in corpus:
                raise BuildInputError(f"judgments: pair ({qid!r}, {did!r}) names a query or "
                                      "document missing from the queries/corpus files")
            labels.setdefault(qid, {})[did] = int(row["label"])
    kept = [q for q in queries if any(v == 1 for v in labels.get(q, {}).values())]
    if not kept:
        raise BuildInputError("no query has a positive: nothing to export (check the judge "
                              "report; with strict judges, pool more candidates per query)")
    files: dict[str, Any] = {}
    docs = sorted({d for q in kept for d in labels[q]})
    _task_files(files, RETRIEVAL, kept, docs, {q: labels[q] for q in kept}, queries, corpus)

    rerank_q, rerank_labels, top = [], {}, {}
    for qid in kept:
        pos = sorted(d for d, v in labels[qid].items() if v == 1)
        neg = sorted(d for d, v in labels[qid].items() if v == 0)
        if not neg:
            continue
        rng = _rng(seed, qid)
        pos = rng.sample(pos, min(positives_per_query, len(pos)))
        neg = rng.sample(neg, min(negatives_per_query, len(neg)))
        candidates = pos + neg
        rng.shuffle(candidates)
        rerank_q.append(qid)
        rerank_labels[qid] = {d: labels[qid][d] for d in candidates}
        top[qid] = candidates
    counts = {RETRIEVAL: {"queries": len(kept), "corpus": len(docs),
                          "positives": sum(v for q in kept for v in labels[q].values()),
                          "negatives": sum(1 - v for q in kept for v in labels[q].values())}}
    if rerank_q:
        rerank_docs = sorted({d for q in rerank_q for d in top[q]})
        _task_files(files, RERANK, rerank_q, rerank_docs, rerank_labels, queries, corpus)
        files[f"{RERANK}/top_ranked/test.jsonl"] = [{"query-id": q, "corpus-ids": top[q]}
                                                    for q in rerank_q]
        counts[RERANK] = {"queries": len(rerank_q), "corpus": len(rerank_docs),
                          "candidates": sum(len(top[q]) for q in rerank_q),
                          "positives": sum(v for q in rerank_q for v in rerank_labels[q].values())}
    return ExportPlan(files=files, counts=counts)


def _task_files(files: dict[str, Any], task: str, qids: Sequence[str], docs: Sequence[str],
                labels: Mapping[str, Mapping[str, int]], queries: Mapping[str, Mapping[str, Any]],
                corpus: Mapping[str, Mapping[str, Any]]) -> None:
    files[f"{task}/queries.jsonl"] = [
        {"_id": q, "text": queries[q]["text"],
         **({"date": queries[q]["date"]} if queries[q].get("date") else {})} for q in qids]
    files[f"{task}/corpus.jsonl"] = [{"_id": d, "title": corpus[d].get("title") or "",
                                      "text": corpus[d]["text"]} for d in docs]
    files[f"{task}/qrels/test.tsv"] = "query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{s}\n" for q in qids for d, s in sorted(labels[q].items()))


def write_files(out_dir: str | Path, files: Mapping[str, Any]) -> None:
    """Write planned files atomically: lists of rows as JSONL, strings as text."""
    for rel, content in files.items():
        path = Path(out_dir) / rel
        write_text(path, content) if isinstance(content, str) else write_jsonl(path, content)


def validate_export(out_dir: str | Path, tasks: Sequence[str]) -> None:
    """Read the exported tasks back with ``medteb run``'s own validators (raises if invalid)."""
    from medteb.benchmark.data.formats import read_retrieval, read_sts

    for task in tasks:
        folder = Path(out_dir) / task
        if task == STS:
            read_sts(folder, "test", (0, 1))
        else:
            read_retrieval(folder, "test", reranking=task == RERANK)


def datasheet(counts: Mapping[str, Mapping[str, int]], facts: Mapping[str, Any],
              built_on: str) -> str:
    """The datasheet (markdown) of an exported folder: counts, judges, prompts, agreement."""
    lines = ["# Datasheet: MedTEB-format data built with `medteb build`", "",
             f"Built on {built_on}. This data was built with MedTEB's construction pipeline "
             "(docs/building_data.md); it is not the official MedTEB test set.", "",
             "## Counts", "", "| Task | " + " | ".join(
                 sorted({k for c in counts.values() for k in c})) + " |"]
    keys = sorted({k for c in counts.values() for k in c})
    lines.append("|---|" + "---:|" * len(keys))
    for task, c in counts.items():
        lines.append(f"| {task} | " + " | ".join(str(c.get(k, "")) for k in keys) + " |")
    for title, key in (("Judges", "judges"), ("Voting and agreement", "agreement"),
                       ("Judging parameters", "judging"),
                       ("Incomplete build (exported with --allow-incomplete)", "incomplete"),
                       ("Prompt versions", "prompt_versions"), ("Sampling", "sampling"),
                       ("Preparation", "prepare"), ("Diversification", "diversify"),
                       ("Candidate pool", "pool"), ("Synonym STS", "sts")):
        if facts.get(key):
            lines += ["", f"## {title}", ""] + [f"- {_fact(v)}" for v in _items(facts[key])]
    lines += ["", "## Known limits", "",
              "- Labels are LLM judgments (unanimous votes), not expert annotation.",
              "- Anonymisation masks phone, ID-card, bank-card, e-mail, URL, QQ and WeChat "
              "identifiers; names and addresses are not detected.", ""]
    return "\n".join(lines)


def _items(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [f"{k}: {_fact(v)}" for k, v in value.items()]
    if isinstance(value, list):
        return value
    return [value]


def _fact(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_fact(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_fact(v) for v in value)
    return str(value)


def write_datasheet(out_dir: str | Path, counts: Mapping[str, Any], facts: Mapping[str, Any],
                    built_on: str) -> None:
    """Write ``datasheet.md`` and ``datasheet.json`` next to the task folders."""
    write_text(Path(out_dir) / "datasheet.md", datasheet(counts, facts, built_on))
    write_json(Path(out_dir) / "datasheet.json",
               {"built_on": built_on, "counts": counts, **facts})

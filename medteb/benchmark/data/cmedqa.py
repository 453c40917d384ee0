"""Import a release in the cMedQA v1/v2 file layout as MedTEB-format retrieval and rerank data.

The cMedQA layout (also used by cEpilepsyQA)::

    question.csv            question_id,content
    answer.csv              ans_id,question_id,content
    <split>_candidates.txt  question_id,ans_id,cnt,label     (label 1 = a correct answer)

becomes two task folders in the documented format (docs/data_format.md):

- ``MedTEB-Retrieval``: every answer is a document; each question of the split is a query whose
  positives are its label-1 candidates (scored by nDCG@10 over the whole corpus);
- ``MedTEB-Rerank``: the same, plus each question's candidate list as ``top_ranked`` (MAP). The
  releases repeat some negatives within a list; each candidate is kept once, in first-seen order.

Both folders are written to a temporary folder next to the destination and renamed into place,
then read back through the validators, so a failed import leaves nothing half-written.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from medteb.errors import DataValidationError, MedtebError

REQUIRED = ("question.csv", "answer.csv")


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote."""

    destination: Path
    documents: int
    queries: int
    positives: int
    candidates: int


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def import_cmedqa_release(source: str | Path, destination: str | Path,
                          split: str = "test") -> ImportSummary:
    """Convert a cMedQA-layout release into ``destination/MedTEB-Retrieval`` and ``-Rerank``.

    Args:
        source: folder with ``question.csv``, ``answer.csv`` and ``<split>_candidates.txt``.
        destination: data folder to create (must not exist yet); use it as ``--data-dir``.
        split: which candidate file to convert; the MedTEB split is always ``test``.

    Raises:
        MedtebError: missing files, or the destination exists.
        DataValidationError: the converted data fails MedTEB's validators.
    """
    source, destination = Path(source), Path(destination)
    missing = [n for n in (*REQUIRED, f"{split}_candidates.txt") if not (source / n).is_file()]
    if missing:
        raise MedtebError(f"{source} is not a cMedQA-layout release: missing {', '.join(missing)}")
    if destination.exists():
        raise MedtebError(f"{destination} already exists; choose a new folder")
    questions = {r["question_id"]: r["content"] for r in _read_csv(source / "question.csv")}
    answers = {r["ans_id"]: r["content"] for r in _read_csv(source / "answer.csv")}
    top, positives = _candidates(source, split, questions, answers)
    corpus = [{"_id": f"a{k}", "title": "", "text": v} for k, v in answers.items()]
    queries = [{"_id": q, "text": questions[q[1:]]} for q in top]
    _write_tasks(destination, corpus, queries, top, positives)
    return ImportSummary(destination, len(corpus), len(queries),
                         sum(len(d) for d in positives.values()),
                         sum(len(d) for d in top.values()))


def _candidates(source: Path, split: str, questions: dict[str, str], answers: dict[str, str]
                ) -> tuple[dict[str, dict[str, None]], dict[str, dict[str, None]]]:
    """Each query's candidate answers and its positives (label 1), ids prefixed q / a.

    Raises:
        DataValidationError: unknown ids, or a question with no positive candidate.
    """
    candidates = _read_csv(source / f"{split}_candidates.txt")
    problems = [f"{split}_candidates.txt line {i}: unknown {kind} {key!r}"
                for i, r in enumerate(candidates, start=2)
                for kind, key, known in (("question_id", r["question_id"], questions),
                                         ("ans_id", r["ans_id"], answers))
                if key not in known]
    if problems:
        raise DataValidationError(str(source), problems)
    top: dict[str, dict[str, None]] = {}
    positives: dict[str, dict[str, None]] = {}
    for r in candidates:
        qid, did = f"q{r['question_id']}", f"a{r['ans_id']}"
        top.setdefault(qid, {})[did] = None
        if r["label"].strip() == "1":
            positives.setdefault(qid, {})[did] = None
    problems = [f"{split}_candidates.txt: question_id {q[1:]!r} has no candidate with label 1"
                for q in top if q not in positives]
    if problems:
        raise DataValidationError(str(source), problems)
    return top, positives


def _write_tasks(destination: Path, corpus: list[dict[str, str]], queries: list[dict[str, str]],
                 top: dict[str, dict[str, None]], positives: dict[str, dict[str, None]]) -> None:
    """Write both tasks into a staging folder, validate them, then rename it into place."""
    from medteb.benchmark.data.formats import read_retrieval

    qrels = ["query-id\tcorpus-id\tscore",
             *(f"{q}\t{d}\t1" for q, ds in positives.items() for d in ds)]
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}."))
    try:
        for task in ("MedTEB-Retrieval", "MedTEB-Rerank"):
            _write_jsonl(staging / task / "corpus.jsonl", corpus)
            _write_jsonl(staging / task / "queries.jsonl", queries)
            (staging / task / "qrels").mkdir()
            (staging / task / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n",
                                                               encoding="utf-8")
        _write_jsonl(staging / "MedTEB-Rerank" / "top_ranked" / "test.jsonl",
                     [{"query-id": q, "corpus-ids": list(ids)} for q, ids in top.items()])
        read_retrieval(staging / "MedTEB-Retrieval", "test", reranking=False)
        read_retrieval(staging / "MedTEB-Rerank", "test", reranking=True)
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

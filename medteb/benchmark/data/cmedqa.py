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

Both folders are written to a temporary folder inside the destination, read back through the
validators, and only then renamed into place (:func:`stage_tasks`), so a failed import leaves
nothing half-written. The destination may already hold other tasks' folders (CHIP-STS's, say).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from medteb._fileio import staged
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
        destination: the data folder (``--data-dir``); its ``MedTEB-Retrieval`` and
            ``MedTEB-Rerank`` folders must not exist yet.
        split: which candidate file to convert; the MedTEB split is always ``test``.

    Raises:
        MedtebError: missing files, or a task folder exists.
        DataValidationError: the converted data fails MedTEB's validators.
    """
    source, destination = Path(source), Path(destination)
    missing = [n for n in (*REQUIRED, f"{split}_candidates.txt") if not (source / n).is_file()]
    if missing:
        raise MedtebError(f"{source} is not a cMedQA-layout release: missing {', '.join(missing)}")
    _check_free(destination, ("MedTEB-Retrieval", "MedTEB-Rerank"))
    questions = {r["question_id"]: r["content"] for r in _read_csv(source / "question.csv")}
    answers = {r["ans_id"]: r["content"] for r in _read_csv(source / "answer.csv")}
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
    corpus = [{"_id": f"a{k}", "title": "", "text": v} for k, v in answers.items()]
    queries = [{"_id": q, "text": questions[q[1:]]} for q in top]
    qrels = ["query-id\tcorpus-id\tscore",
             *(f"{q}\t{d}\t1" for q, ds in positives.items() for d in ds)]

    def write(rerank: bool) -> Callable[[Path], None]:
        def write_task(folder: Path) -> None:
            _write_jsonl(folder / "corpus.jsonl", corpus)
            _write_jsonl(folder / "queries.jsonl", queries)
            (folder / "qrels").mkdir()
            (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n",
                                                       encoding="utf-8")
            if rerank:
                _write_jsonl(folder / "top_ranked" / "test.jsonl",
                             [{"query-id": q, "corpus-ids": list(ids)} for q, ids in top.items()])
        return write_task

    stage_tasks(destination, {"MedTEB-Retrieval": write(False), "MedTEB-Rerank": write(True)})
    return ImportSummary(destination, len(corpus), len(queries),
                         sum(len(d) for d in positives.values()),
                         sum(len(d) for d in top.values()))


def _check_free(destination: Path, tasks: tuple[str, ...]) -> None:
    taken = [t for t in tasks if (destination / t).exists()]
    if taken:
        raise MedtebError(f"{destination / taken[0]} already exists; import into another data "
                          "folder or remove it first")


def stage_tasks(destination: str | Path,
                writers: Mapping[str, Callable[[Path], None]]) -> Path:
    """Write task folders into ``destination`` all or nothing, validated as ``medteb run`` reads
    them.

    Each ``writers[task](folder)`` fills an empty folder; every folder is then read back with
    the task's reader (its type and score range from ``tasks/<task>/task.yaml``), and only when
    all pass are they renamed into ``destination/<task>``.

    Returns:
        ``destination``.

    Raises:
        MedtebError: a task folder already exists.
        DataValidationError: a written folder fails the validators (nothing is left behind).
    """
    from medteb.benchmark.data.formats import read_retrieval, read_sts
    from medteb.benchmark.definitions import load_definitions

    destination = Path(destination)
    _check_free(destination, tuple(writers))
    definitions = load_definitions()
    created = not destination.exists()
    moved: list[Path] = []
    try:
        with staged(destination, ".import-") as staging:
            for task, write in writers.items():
                folder = staging / task
                folder.mkdir()
                write(folder)
                kind = definitions[task].metadata["type"]
                if kind == "STS":
                    read_sts(folder, "test", definitions[task].score_range)
                else:
                    read_retrieval(folder, "test", reranking=kind == "Reranking")
            for task in writers:
                (staging / task).rename(destination / task)
                moved.append(destination / task)
    except BaseException:
        for folder in moved:
            shutil.rmtree(folder, ignore_errors=True)
        if created:
            shutil.rmtree(destination, ignore_errors=True)
        raise
    return destination

"""Read and validate one task's data in MedTEB's on-disk format (docs/data_format.md).

The format is BEIR-compatible::

    <task dir>/corpus.jsonl               {"_id": str, "text": str, "title": str (optional)}
    <task dir>/queries.jsonl              {"_id": str, "text": str, "date": "YYYY-MM-DD" (optional)}
    <task dir>/qrels/<split>.tsv          query-id <TAB> corpus-id <TAB> score (int >= 0)
    <task dir>/top_ranked/<split>.jsonl   {"query-id": str, "corpus-ids": [str, ...]}  (Reranking)
    <task dir>/sts/<split>.jsonl          {"sentence1": str, "sentence2": str, "score": number}

Readers collect every problem in a task folder and raise one ``DataValidationError``. Nothing
here imports mteb or torch; the revision of a local copy is a hash of the bytes it was read from.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medteb.errors import DataValidationError

QRELS_HEADER = ("query-id", "corpus-id", "score")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def date_problem(value: object) -> str | None:
    """Why ``value`` is not a query date (an ISO ``"YYYY-MM-DD"`` string); None when it is."""
    shown = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return f'"date" must be a "YYYY-MM-DD" string, got {shown}'
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return f'"date" {shown} is not a calendar date'
    return None


@dataclass
class RetrievalData:
    """A retrieval or reranking split, validated.

    Attributes:
        corpus: ``{"id", "title", "text"}`` rows in file order.
        queries: ``{"id", "text"}`` rows of the queries that have qrels in this split.
        relevant_docs: query id -> {corpus id: graded relevance}.
        top_ranked: query id -> candidate corpus ids (reranking only).
        revision: content hash of the files read.
        labelled: False for a hidden-label release (no ``qrels/``): every query is kept and
            ``relevant_docs`` is empty; such data yields predictions, never scores.
        query_dates: query id -> the date it was asked or collected, for dated queries.
    """

    corpus: list[dict[str, str]]
    queries: list[dict[str, str]]
    relevant_docs: dict[str, dict[str, int]]
    top_ranked: dict[str, list[str]] | None
    revision: str
    labelled: bool = True
    query_dates: dict[str, str] = field(default_factory=dict)


@dataclass
class STSData:
    """An STS split, validated: rows of ``{"sentence1", "sentence2", "score"}`` (no ``score``
    when ``labelled`` is False: a hidden-label release, whose pairs carry no score at all)."""

    rows: list[dict[str, Any]]
    revision: str
    labelled: bool = True


@dataclass
class _Problems:
    """Collects problems across files so they can be reported at once."""

    items: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def raise_if_any(self, task_dir: Path) -> None:
        if self.items:
            raise DataValidationError(str(task_dir), self.items)


def _lines(path: Path, task_dir: Path, problems: _Problems) -> Iterator[tuple[str, int, str]]:
    """Yield (location, line number, decoded line) for each non-blank line of a file."""
    rel = path.relative_to(task_dir).as_posix()
    if not path.is_file():
        problems.add(rel, "missing file")
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{rel} line {number}"
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                problems.add(where, f"not valid UTF-8 ({err.reason} at byte {err.start}); "
                                    "re-save the file as UTF-8")
                continue
            if line.strip():
                yield where, number, line


def _json_objects(
    path: Path, task_dir: Path, problems: _Problems
) -> Iterator[tuple[str, int, dict]]:
    for where, number, line in _lines(path, task_dir, problems):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            cause = err.msg.removesuffix(" at")  # "Unterminated string starting at"
            problems.add(where, f"invalid JSON ({cause}) at column {err.colno}")
            continue
        if not isinstance(obj, dict):
            problems.add(where, f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield where, number, obj


def _string_field(obj: dict, key: str, where: str, problems: _Problems, *,
                  required: bool = True, non_empty: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            problems.add(where, f'missing "{key}"')
        return None
    if not isinstance(value, str):
        problems.add(where, f'"{key}" must be a string, got {type(value).__name__} '
                            f"{json.dumps(value, ensure_ascii=False)} (quote it)")
        return None
    if non_empty and not value.strip():
        problems.add(where, f'empty "{key}"')
        return None
    return value


def _read_texts(path: Path, task_dir: Path, problems: _Problems, *, with_title: bool,
                dates: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Read corpus.jsonl or queries.jsonl into id -> row, checking ids and texts.

    With ``dates``, an optional ``"date"`` is read and checked, and filed there by id.
    """
    rows: dict[str, dict[str, str]] = {}
    first_seen: dict[str, int] = {}
    for where, number, obj in _json_objects(path, task_dir, problems):
        if dates is not None and "date" in obj:
            problem = date_problem(obj["date"])
            if problem:
                problems.add(where, problem)
            elif isinstance(obj.get("_id"), str):
                dates[obj["_id"]] = obj["date"]
        doc_id = _string_field(obj, "_id", where, problems)
        text = _string_field(obj, "text", where, problems)
        title = _string_field(obj, "title", where, problems, required=False, non_empty=False)
        if doc_id is None:
            continue
        if doc_id in first_seen:
            first = first_seen[doc_id]
            problems.add(where, f'duplicate _id "{doc_id}" (first seen on line {first})')
            continue
        first_seen[doc_id] = number
        if text is None:
            continue
        row = {"id": doc_id, "text": text}
        if with_title:
            row["title"] = title or ""
        rows[doc_id] = row
    return rows


def _read_qrels(path: Path, task_dir: Path, problems: _Problems, query_ids: set[str],
                corpus_ids: set[str]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    lines = _lines(path, task_dir, problems)
    header = next(lines, None)
    if header is None:
        if path.is_file():
            problems.add(path.relative_to(task_dir).as_posix(), "empty file (no header)")
        return qrels
    where, _, line = header
    if tuple(c.strip() for c in line.split("\t")) != QRELS_HEADER:
        problems.add(where, f"header must be {'<TAB>'.join(QRELS_HEADER)!r}, got {line!r}")
    for where, _, line in lines:
        cells = line.split("\t")
        if len(cells) != 3:
            problems.add(where, f"expected 3 tab-separated columns, got {len(cells)}")
            continue
        qid, did, raw_score = (c.strip() for c in cells)
        try:
            score = int(raw_score)
        except ValueError:
            problems.add(where, f"score {raw_score!r} is not an integer")
            continue
        if score < 0:
            problems.add(where, f"score {score} is negative (use 0 for judged non-relevant)")
            continue
        if qid not in query_ids:
            problems.add(where, f'query-id "{qid}" is not in queries.jsonl')
        if did not in corpus_ids:
            problems.add(where, f'corpus-id "{did}" is not in corpus.jsonl')
        if did in qrels.get(qid, {}):
            problems.add(where, f'duplicate judgement for ("{qid}", "{did}")')
        qrels.setdefault(qid, {})[did] = score
    return qrels


def _read_top_ranked(path: Path, task_dir: Path, problems: _Problems, query_ids: set[str],
                     corpus_ids: set[str]) -> dict[str, list[str]]:
    top_ranked: dict[str, list[str]] = {}
    for where, _, obj in _json_objects(path, task_dir, problems):
        qid = _string_field(obj, "query-id", where, problems)
        candidates = obj.get("corpus-ids")
        if not isinstance(candidates, list) or not candidates or not all(
            isinstance(c, str) for c in candidates
        ):
            problems.add(where, '"corpus-ids" must be a non-empty list of strings')
            continue
        if qid is None:
            continue
        if qid in top_ranked:
            problems.add(where, f'duplicate candidate list for query-id "{qid}"')
            continue
        if qid not in query_ids:
            problems.add(where, f'query-id "{qid}" is not in queries.jsonl')
        unknown = [c for c in candidates if c not in corpus_ids]
        if unknown:
            problems.add(where, f"corpus-ids not in corpus.jsonl: {', '.join(unknown[:5])}"
                                + (" ..." if len(unknown) > 5 else ""))
        if len(set(candidates)) != len(candidates):
            problems.add(where, f'duplicate corpus-ids in the candidate list of "{qid}"')
        top_ranked[qid] = list(dict.fromkeys(candidates))
    return top_ranked


def _content_hash(files: list[Path], task_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(task_dir).as_posix().encode())
        digest.update(b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def read_retrieval(task_dir: Path, split: str, *, reranking: bool) -> RetrievalData:
    """Read a Retrieval (or, with ``reranking=True``, Reranking) split and validate it.

    Args:
        task_dir: ``DIR/<TaskName>``.
        split: the split name, e.g. ``"test"``.
        reranking: require ``top_ranked/<split>.jsonl`` and check it against the qrels.

    Raises:
        DataValidationError: with every problem found, each with its file and line or id.
    """
    problems = _Problems()
    corpus = _read_texts(task_dir / "corpus.jsonl", task_dir, problems, with_title=True)
    dates: dict[str, str] = {}
    queries = _read_texts(task_dir / "queries.jsonl", task_dir, problems, with_title=False,
                          dates=dates)
    qrels_path = task_dir / "qrels" / f"{split}.tsv"
    # queries but no qrels/ at all: a hidden-label release (an empty folder lacks both)
    labelled = (task_dir / "qrels").exists() or not (task_dir / "queries.jsonl").is_file()
    qrels = (_read_qrels(qrels_path, task_dir, problems, set(queries), set(corpus))
             if labelled else {})
    top_ranked = None
    if reranking:
        top_ranked = _read_top_ranked(task_dir / "top_ranked" / f"{split}.jsonl", task_dir,
                                      problems, set(queries), set(corpus))
    if labelled:
        _check_positives(task_dir, split, queries, qrels, top_ranked, problems)
    elif top_ranked is not None:
        for qid in (q for q in queries if q not in top_ranked):
            problems.add(f'query "{qid}"', f"has no candidate list in top_ranked/{split}.jsonl")
    problems.raise_if_any(task_dir)
    files = [task_dir / "corpus.jsonl", task_dir / "queries.jsonl"]
    files += [qrels_path] if labelled else []
    if reranking:
        files.append(task_dir / "top_ranked" / f"{split}.jsonl")
    return RetrievalData(
        corpus=list(corpus.values()),
        queries=[q for qid, q in queries.items() if qid in qrels or not labelled],
        relevant_docs=qrels,
        top_ranked=top_ranked,
        revision=_content_hash(files, task_dir),
        labelled=labelled,
        query_dates={qid: day for qid, day in dates.items() if not labelled or qid in qrels},
    )


def _check_positives(task_dir: Path, split: str, queries: dict[str, dict[str, str]],
                     qrels: dict[str, dict[str, int]], top_ranked: dict[str, list[str]] | None,
                     problems: _Problems) -> None:
    qrels_name = f"qrels/{split}.tsv"
    only_split = not any(
        p.stem != split for p in (task_dir / "qrels").glob("*.tsv")
    )
    for qid in queries:
        judged = qrels.get(qid)
        if judged is None:
            if only_split:  # with several splits, a query may belong to another one
                problems.add(f'query "{qid}"', f"has no judgement in {qrels_name}")
            continue
        positives = [did for did, score in judged.items() if score > 0]
        if not positives:
            problems.add(f'query "{qid}"', f"has no relevant document (score > 0) in {qrels_name}")
        if top_ranked is None:
            continue
        if qid not in top_ranked:
            problems.add(f'query "{qid}"', f"has no candidate list in top_ranked/{split}.jsonl")
            continue
        missing = [did for did in positives if did not in set(top_ranked[qid])]
        if missing:
            problems.add(f'query "{qid}"', f"relevant documents not in its candidate list: "
                                           f"{', '.join(missing[:5])}")


def read_sts(task_dir: Path, split: str, score_range: tuple[float, float]) -> STSData:
    """Read an STS split and validate it.

    Args:
        task_dir: ``DIR/<TaskName>``.
        split: the split name.
        score_range: the inclusive range scores must fall in (``(0, 1)`` for binary labels).

    Raises:
        DataValidationError: with every problem found.
    """
    problems = _Problems()
    path = task_dir / "sts" / f"{split}.jsonl"
    low, high = score_range
    rows = []
    objects = list(_json_objects(path, task_dir, problems))
    labelled = not objects or any("score" in obj for _, _, obj in objects)
    for where, _, obj in objects:  # no pair with a score at all: a hidden-label release
        s1 = _string_field(obj, "sentence1", where, problems)
        s2 = _string_field(obj, "sentence2", where, problems)
        score = obj.get("score")
        if not labelled:
            if s1 is not None and s2 is not None:
                rows.append({"sentence1": s1, "sentence2": s2})
            continue
        if score is None:
            problems.add(where, 'missing "score"')
            continue
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(
            score
        ):
            problems.add(where, f'"score" must be a number, got {json.dumps(score)}')
            continue
        if not low <= score <= high:
            problems.add(where, f'"score" {score} is outside [{low:g}, {high:g}]')
            continue
        if s1 is not None and s2 is not None:
            rows.append({"sentence1": s1, "sentence2": s2, "score": float(score)})
    if path.is_file() and not rows and not problems.items:
        problems.add(f"sts/{split}.jsonl", "no sentence pairs")
    problems.raise_if_any(task_dir)
    return STSData(rows=rows, revision=_content_hash([path], task_dir), labelled=labelled)

"""Training data: (query, positives, negatives) triplets and Stage I alignment texts.

Triplets (Stage II and document-encoder preparation) come from either

- a JSONL file, one object a line: ``{"query": str, "pos": [str, ...], "neg": [str, ...]}``
  (``positives`` / ``negatives`` are accepted for ``pos`` / ``neg``; ``neg`` may be empty); or
- a MedTEB-Retrieval folder (``docs/data_format.md``) — what the construction pipeline exports:
  qrels with score > 0 are positives and judged score-0 documents are the hard negatives.

Alignment texts (Stage I) are plain texts, each its own positive; :func:`alignment_texts`
collects them from any text files (``.txt`` one per line, ``.jsonl``, ``.csv`` / ``.tsv``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from medteb.errors import TrainingError

TRIPLET_KEYS = {"query": ("query",), "pos": ("pos", "positives"), "neg": ("neg", "negatives")}
#: JSONL fields whose strings (or lists of strings) are alignment texts
TEXT_FIELDS = ("text", "title", "query", "pos", "neg", "positives", "negatives", "sentence1",
               "sentence2", "content")
#: CSV/TSV columns read for alignment texts, first present wins
TEXT_COLUMNS = ("content", "text", "question", "answer", "query", "sentence")


@dataclass(frozen=True)
class Triplet:
    """One training example: a query, its positive documents and its hard negatives."""

    query: str
    positives: tuple[str, ...]
    negatives: tuple[str, ...] = ()


def _problems_error(where: str, problems: Sequence[str]) -> TrainingError:
    shown = "; ".join(problems[:20])
    more = f"; ... and {len(problems) - 20} more" if len(problems) > 20 else ""
    return TrainingError(f"{where}: {len(problems)} problem(s): {shown}{more}. The training data "
                         "format is described in docs/training.md.")


def read_triplets(path: str | Path, split: str = "test") -> list[Triplet]:
    """Read training triplets from a JSONL file or a MedTEB-Retrieval folder.

    Args:
        path: a ``.jsonl`` file, a ``MedTEB-Retrieval`` task folder, or a data folder holding one.
        split: the qrels split of a MedTEB-Retrieval folder (``qrels/<split>.tsv``).

    Raises:
        TrainingError: a missing file, or every malformed line (file and line number) at once.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        task_dir = path / "MedTEB-Retrieval" if (path / "MedTEB-Retrieval").is_dir() else path
        return triplets_from_retrieval(task_dir, split)
    if not path.is_file():
        raise TrainingError(f"training data {path} does not exist; give a triplet .jsonl file or "
                            "a MedTEB-Retrieval folder")
    triplets, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append(f"{where}: not JSON ({err.msg})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{where}: expected an object with query, pos, neg")
            continue
        fields = {}
        for key, names in TRIPLET_KEYS.items():
            fields[key] = next((row[n] for n in names if n in row), None)
        query, pos, neg = fields["query"], fields["pos"], fields["neg"] or []
        if isinstance(pos, str):
            pos = [pos]
        if isinstance(neg, str):
            neg = [neg]
        if not isinstance(query, str) or not query.strip():
            problems.append(f"{where}: \"query\" must be a non-empty string")
        elif not isinstance(pos, list) or not pos or not all(
                isinstance(p, str) and p.strip() for p in pos):
            problems.append(f"{where}: \"pos\" must be a non-empty list of non-empty strings")
        elif not isinstance(neg, list) or not all(isinstance(n, str) and n.strip() for n in neg):
            problems.append(f"{where}: \"neg\" must be a list of non-empty strings")
        else:
            triplets.append(Triplet(query, tuple(pos), tuple(neg)))
    if problems:
        raise _problems_error(str(path), problems)
    if not triplets:
        raise TrainingError(f"{path}: no triplets; each line needs a query and a positive")
    return triplets


def triplets_from_retrieval(task_dir: str | Path, split: str = "test") -> list[Triplet]:
    """Triplets from a MedTEB-Retrieval folder: positives score > 0, hard negatives score 0.

    A document's title, when present, is put before its text (``title text``), as ``mteb``
    presents corpus documents. Queries without a positive are left out.

    Raises:
        DataValidationError: the folder breaks the documented format.
    """
    from medteb.benchmark.data.formats import read_retrieval

    data = read_retrieval(Path(task_dir), split, reranking=False)
    texts = {d["id"]: f"{d['title']} {d['text']}".strip() for d in data.corpus}
    triplets = []
    for query in data.queries:
        judged = data.relevant_docs.get(query["id"], {})
        positives = tuple(texts[d] for d, score in judged.items() if score > 0)
        negatives = tuple(texts[d] for d, score in judged.items() if score <= 0)
        if positives:
            triplets.append(Triplet(query["text"], positives, negatives))
    if not triplets:
        raise TrainingError(f"{task_dir}: no query of split {split!r} has a positive document")
    return triplets


def alignment_texts(paths: Iterable[str | Path], min_chars: int = 2,
                    max_texts: int | None = None) -> list[str]:
    """Collect Stage I alignment texts (queries and documents alike) from text files.

    ``.txt``: one text a line; ``.jsonl``: the string fields in :data:`TEXT_FIELDS` (so triplet
    files and MedTEB ``queries.jsonl`` / ``corpus.jsonl`` work); ``.csv`` / ``.tsv``: the first
    column of :data:`TEXT_COLUMNS` present. Texts are stripped, shorter ones than ``min_chars``
    dropped, and duplicates removed (a duplicate in a batch would be a false in-batch negative),
    keeping first-seen order.

    Raises:
        TrainingError: a missing or unsupported file, or no text at all.
    """
    seen: dict[str, None] = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise TrainingError(f"alignment source {path} does not exist")
        for text in _texts_of(path):
            text = text.strip()
            if len(text) >= min_chars and text not in seen:
                seen[text] = None
                if max_texts is not None and len(seen) >= max_texts:
                    return list(seen)
    if not seen:
        raise TrainingError("no alignment text found in " + ", ".join(map(str, paths)))
    return list(seen)


def _texts_of(path: Path) -> Iterable[str]:
    suffix = path.suffix.lower()
    if suffix == ".txt":
        yield from path.read_text(encoding="utf-8").splitlines()
    elif suffix == ".jsonl":
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise TrainingError(f"{path} line {number}: not JSON ({err.msg})") from err
            for key in TEXT_FIELDS:
                value = row.get(key) if isinstance(row, dict) else None
                values = value if isinstance(value, list) else [value]
                yield from (v for v in values if isinstance(v, str))
    elif suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            column = next((c for c in TEXT_COLUMNS if c in (reader.fieldnames or [])), None)
            if column is None:
                raise TrainingError(f"{path}: no text column; expected one of "
                                    f"{', '.join(TEXT_COLUMNS)}")
            yield from (row[column] or "" for row in reader)
    else:
        raise TrainingError(f"{path}: unsupported alignment source; use .txt (one text a line), "
                            ".jsonl, .csv or .tsv")


def read_alignment_data(path: str | Path) -> list[str]:
    """Read an alignment file written by ``medteb train alignment-data`` (or any source
    :func:`alignment_texts` accepts)."""
    return alignment_texts([path], min_chars=1)

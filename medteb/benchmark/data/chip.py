"""Import CBLUE's CHIP-STS and CHIP-CDN releases as MedTEB-format task folders.

CHIP-STS (a JSON list of ``{id, text1, text2, label "0"/"1", category}``) becomes
``MedTEB-STS/sts/test.jsonl``: one pair per record, the label as the binary score. The release's
test file is unlabelled: use the dev file (4,000 labelled pairs) as the test set.

CHIP-CDN (a JSON list of ``{text, normalized_result}``, the standard terms joined by ``##``)
becomes ``MedTEB-Retrieval``, as term normalisation: each raw clinical term is a query, every
distinct standard term of the files is a document, and a query's standard terms are its relevant
documents (nDCG@10 over all standard terms). For the synonym dictionary of ``medteb build sts``,
use ``medteb build import-cdn`` instead.

Like :func:`medteb.benchmark.data.cmedqa.import_cmedqa_release`, the folder is written next to its
destination, read back through ``medteb run``'s validators, and only then renamed into place.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medteb.benchmark.data.cmedqa import stage_tasks
from medteb.errors import DataValidationError, MedtebError


@dataclass(frozen=True)
class StsImportSummary:
    """What a CHIP-STS import wrote."""

    destination: Path
    pairs: int
    positives: int
    categories: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CdnImportSummary:
    """What a CHIP-CDN import wrote."""

    destination: Path
    queries: int
    documents: int
    positives: int
    merged: int  # records whose raw term repeats an earlier one (their terms are merged)


def _records(files: Sequence[str | Path], keys: tuple[str, ...]) -> list[tuple[str, int, dict]]:
    """(file name, index, record) of every record of the JSON-list files; raises on bad files."""
    if not files:
        raise MedtebError("no input file given")
    out = []
    for file in map(Path, files):
        try:
            data = json.loads(file.read_text(encoding="utf-8-sig"))
        except FileNotFoundError as err:
            raise MedtebError(f"{file}: no such file") from err
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise MedtebError(f"{file}: not a JSON file ({err})") from err
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise MedtebError(f"{file}: expected a JSON list of objects with "
                              f"{', '.join(keys)}")
        out += [(file.name, i, r) for i, r in enumerate(data)]
    return out


def _unlabelled(records: list[tuple[str, int, dict]], key: str, hint: str) -> list[str]:
    """One problem per file none of whose records has ``key`` (a release's unlabelled test
    file), instead of one per record."""
    names = dict.fromkeys(name for name, _, _ in records)
    return [f"{name}: no record has a {key!r} ({hint})" for name in names
            if not any(r.get(key) not in (None, "") for n, _, r in records if n == name)]


def _text(value: Any) -> str:
    return value.replace("\ufeff", "").strip() if isinstance(value, str) else ""


def import_chip_sts(files: Sequence[str | Path], destination: str | Path) -> StsImportSummary:
    """Convert labelled CHIP-STS files into ``destination/MedTEB-STS``.

    Args:
        files: CHIP-STS JSON files with labels (``CHIP-STS_dev.json``, ``..._train.json``).
        destination: the data folder (``--data-dir``); ``MedTEB-STS`` must not exist in it.

    Raises:
        MedtebError: unreadable files, or the task folder exists.
        DataValidationError: records without two texts or a 0/1 label (every one listed).
    """
    rows: list[dict[str, Any]] = []
    categories: dict[str, int] = {}
    records = _records(files, ("text1", "text2", "label"))
    problems = _unlabelled(records, "label", "CHIP-STS's test file is unlabelled; use the dev "
                                             "file as the test set")
    if problems:
        raise DataValidationError(", ".join(map(str, files)), problems)
    for name, i, record in records:
        where = f"{name} record {i + 1} (id {record.get('id')!r})"
        s1, s2, label = _text(record.get("text1")), _text(record.get("text2")), \
            record.get("label")
        if label is None:
            problems.append(f"{where}: no label")
            continue
        if str(label).strip() not in ("0", "1"):
            problems.append(f"{where}: label {label!r} is not 0 or 1")
            continue
        if not s1 or not s2:
            problems.append(f"{where}: empty text1 or text2")
            continue
        rows.append({"sentence1": s1, "sentence2": s2, "score": int(str(label).strip())})
        category = str(record.get("category") or "unknown")
        categories[category] = categories.get(category, 0) + 1
    if problems:
        raise DataValidationError(", ".join(map(str, files)), problems)

    def write(folder: Path) -> None:
        _write_jsonl(folder / "sts" / "test.jsonl", rows)

    target = stage_tasks(destination, {"MedTEB-STS": write})
    return StsImportSummary(target, len(rows), sum(r["score"] for r in rows),
                            dict(sorted(categories.items())))


def import_chip_cdn(files: Sequence[str | Path], destination: str | Path) -> CdnImportSummary:
    """Convert CHIP-CDN files into ``destination/MedTEB-Retrieval`` (term normalisation).

    Args:
        files: CHIP-CDN JSON files with ``normalized_result`` (train / dev; test is unlabelled).
        destination: the data folder (``--data-dir``); ``MedTEB-Retrieval`` must not exist in it.

    Raises:
        MedtebError: unreadable files, or the task folder exists.
        DataValidationError: records without a raw term or a standard term (every one listed).
    """
    positives: dict[str, dict[str, None]] = {}  # raw term -> its standard terms, in order
    merged = 0
    records = _records(files, ("text", "normalized_result"))
    problems = _unlabelled(records, "normalized_result", "CHIP-CDN's test file is unlabelled; "
                                                         "use the train or dev file")
    if problems:
        raise DataValidationError(", ".join(map(str, files)), problems)
    for name, i, record in records:
        raw = _text(record.get("text"))
        terms = [_text(t) for t in str(record.get("normalized_result") or "").split("##")]
        terms = [t for t in terms if t]
        where = f"{name} record {i + 1}"
        if not raw:
            problems.append(f"{where}: empty text")
        elif not terms:
            problems.append(f"{where}: no normalized_result")
        else:
            merged += raw in positives
            positives.setdefault(raw, {}).update(dict.fromkeys(terms))
    if problems:
        raise DataValidationError(", ".join(map(str, files)), problems)
    documents = {t: f"t{i}" for i, t in enumerate(dict.fromkeys(
        t for terms in positives.values() for t in terms), start=1)}
    queries = {raw: f"q{i}" for i, raw in enumerate(positives, start=1)}

    def write(folder: Path) -> None:
        _write_jsonl(folder / "corpus.jsonl",
                     [{"_id": d, "title": "", "text": t} for t, d in documents.items()])
        _write_jsonl(folder / "queries.jsonl",
                     [{"_id": q, "text": raw} for raw, q in queries.items()])
        (folder / "qrels").mkdir()
        lines = ["query-id\tcorpus-id\tscore", *(f"{queries[raw]}\t{documents[t]}\t1"
                                                 for raw, terms in positives.items()
                                                 for t in terms)]
        (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    target = stage_tasks(destination, {"MedTEB-Retrieval": write})
    return CdnImportSummary(target, len(queries), len(documents),
                            sum(len(t) for t in positives.values()), merged)


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")

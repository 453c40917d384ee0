"""File helpers shared by the build stages: JSONL in, atomic JSONL/JSON/text out."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from medteb._fileio import write_atomic
from medteb.errors import BuildInputError


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a UTF-8 JSONL file of objects.

    Raises:
        BuildInputError: the file is missing, or a line is not a JSON object (with its number).
    """
    file = Path(path)
    if not file.is_file():
        raise BuildInputError(f"{file}: no such file")
    try:
        with file.open(encoding="utf-8") as handle:
            return list(iter_json_objects(handle, file))
    except UnicodeDecodeError as err:
        raise BuildInputError(
            f"{file}: not UTF-8 ({err.reason} at byte {err.start}); the files of a work folder "
            "are UTF-8: give the original file to `medteb build prepare` with its --encoding "
            "(e.g. --encoding gb18030)") from err


def need_rows(rows: Any, path: str | os.PathLike, produced_by: str) -> Any:
    """``rows`` unless empty; an empty input stops a stage here, not stages later.

    Raises:
        BuildInputError: ``rows`` is empty (naming the file and the stage that writes it).
    """
    if not rows:
        raise BuildInputError(f"{path}: empty (no records); `medteb build {produced_by}` writes "
                              "it from a non-empty input")
    return rows


def iter_json_objects(handle: Iterable[str], file: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """The JSON objects of an open JSONL file, one per non-blank line.

    Raises:
        BuildInputError: a line is not a JSON object (with its number).
    """
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise BuildInputError(f"{file} line {number}: invalid JSON ({err.msg}); "
                                  "each line must be one JSON object") from err
        if not isinstance(obj, dict):
            raise BuildInputError(f"{file} line {number}: expected a JSON object")
        yield obj


def read_texts(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Read ``queries.jsonl`` / ``corpus.jsonl`` rows (``_id``, ``text``) into id -> row."""
    rows: dict[str, dict[str, Any]] = {}
    for number, row in enumerate(read_jsonl(path), start=1):
        doc_id, text = row.get("_id"), row.get("text")
        if not isinstance(doc_id, str) or not isinstance(text, str):
            raise BuildInputError(f"{path} row {number}: needs string \"_id\" and \"text\" "
                                  "(run `medteb build prepare` to produce such files)")
        rows[doc_id] = row
    return rows


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> None:
    """Write JSONL atomically (temp file in the same folder, fsync, rename)."""
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write pretty JSON atomically."""
    write_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    write_atomic(path, text)


def extract_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer (code fences and text around it tolerated).

    Raises:
        ValueError: no complete JSON object is found (e.g. the output was cut off).
    """
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end < start:
        raise ValueError(f"no JSON object in the output {text[:80]!r}")
    try:
        obj = json.loads(text[start:end + 1])
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid JSON ({err.msg}) in the output {text[:80]!r}") from err
    if not isinstance(obj, dict):
        raise ValueError("the output is not a JSON object")
    return obj

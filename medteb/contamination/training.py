"""Training files for the audit, streamed record by record and cut into shards.

Formats, by suffix: ``.jsonl``/``.ndjson`` (every string in each object), ``.txt`` (each line),
``.csv``/``.tsv`` (each row's cells), ``.parquet`` (each row's strings), and folders: a Hugging
Face dataset saved with ``save_to_disk`` (its ``.arrow`` files) or any folder of the files above
(a hub snapshot), searched recursively. Line-based files are cut at byte offsets (a shard starts
at the first line beginning in its range), so shards are read independently and in any order;
the others are one shard per file. Memory is one record at a time.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medteb.contamination.index import ContaminationError

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "text", ".csv": "csv",
           ".tsv": "tsv", ".parquet": "parquet", ".arrow": "arrow"}
_SPLITTABLE = ("jsonl", "text")
#: default shard size of line-based files (progress and Ray hand out shards of this size)
SHARD_BYTES = 8 << 20


@dataclass(frozen=True)
class Shard:
    """A piece of one training file: bytes ``[start, end)`` (line-based) or the whole file."""

    path: str
    fmt: str
    start: int = 0
    end: int | None = None

    @property
    def size(self) -> int:
        """Bytes this shard covers (for progress)."""
        end = self.end if self.end is not None else os.path.getsize(self.path)
        return end - self.start


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None or fmt == "arrow":
        known = ", ".join(sorted(s for s in FORMATS if s != ".arrow"))
        raise ContaminationError(f"{path}: unknown training file type {path.suffix or '(none)'!r};"
                                 f" give {known} files or a Hugging Face dataset folder")
    return fmt


def _folder_files(folder: Path) -> list[tuple[Path, str]]:
    if (folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file():
        found = [(p, "arrow") for p in sorted(folder.rglob("*.arrow"))]
    else:
        found = [(p, FORMATS[p.suffix.lower()]) for p in sorted(folder.rglob("*"))
                 if p.is_file() and FORMATS.get(p.suffix.lower()) not in (None, "arrow")]
    if not found:
        raise ContaminationError(f"{folder}: no training files in this folder (looked for a "
                                 "saved Hugging Face dataset and for "
                                 f"{', '.join(s for s in FORMATS if s != '.arrow')} files)")
    return found


def training_files(paths: list[str]) -> list[tuple[Path, str]]:
    """The training files named by ``paths`` (files or folders), with their formats.

    Raises:
        ContaminationError: no paths, a missing or unreadable path, an unknown file type, a
            folder without training files.
    """
    if not paths:
        raise ContaminationError("no training files given")
    files: list[tuple[Path, str]] = []
    for name in paths:
        path = Path(name).expanduser()
        if not path.exists():
            raise ContaminationError(f"{path}: no such training file or folder")
        found = _folder_files(path) if path.is_dir() else [(path, _format_of(path))]
        for file, fmt in found:
            if not os.access(file, os.R_OK):
                raise ContaminationError(f"{file}: not readable (permission denied)")
            files.append((file, fmt))
    return files


def make_shards(files: list[tuple[Path, str]], shard_bytes: int = SHARD_BYTES) -> list[Shard]:
    """Cut line-based files into byte ranges of about ``shard_bytes``; others stay whole."""
    shards = []
    for path, fmt in files:
        size = path.stat().st_size
        if fmt not in _SPLITTABLE or size <= shard_bytes:
            shards.append(Shard(str(path), fmt))
            continue
        for start in range(0, size, shard_bytes):
            shards.append(Shard(str(path), fmt, start, min(size, start + shard_bytes)))
    return shards


def strings(value: Any) -> Iterator[str]:
    """Every string inside a decoded JSON value or table row, depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)


def _lines(shard: Shard, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number within the shard, decoded line) for every line beginning in the shard."""
    with open(shard.path, "rb") as handle:
        if shard.start > 0:
            handle.seek(shard.start - 1)
            handle.readline()  # the rest of the line begun before this shard
        end = shard.end if shard.end is not None else float("inf")
        number = 0
        while handle.tell() < end:
            raw = handle.readline()
            if not raw:
                break
            number += 1
            try:
                yield number, raw.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError as err:
                raise ContaminationError(
                    f"{shard.path} (line {number} after byte {shard.start}): not {encoding} "
                    f"({err.reason}); pass the file's --encoding (e.g. gb18030)") from err


def records(shard: Shard, encoding: str = "utf-8") -> Iterator[tuple[int, list[str]]]:
    """(record number within the shard, the record's texts) for each record of a shard.

    A record is a line (text), an object (JSONL) or a row (CSV/TSV, Parquet, Arrow). For
    line-based files the number is the line number within the shard, so numbers of the
    shards of one file add up to the file's line numbers; blank lines come with no texts.

    Raises:
        ContaminationError: a line that is not JSON, text that is not in ``encoding``, a file
            pyarrow cannot read.
    """
    if shard.fmt in _SPLITTABLE:
        for number, line in _lines(shard, encoding):
            if not line.strip():
                yield number, []  # counted for line numbers, matched against nothing
                continue
            if shard.fmt == "text":
                yield number, [line]
                continue
            try:
                yield number, list(strings(json.loads(line)))
            except json.JSONDecodeError as err:
                raise ContaminationError(
                    f"{shard.path} (line {number} after byte {shard.start}): invalid JSON "
                    f"({err.msg}); a .jsonl file holds one JSON value per line") from err
    elif shard.fmt in ("csv", "tsv"):
        yield from _table_rows(shard, encoding)
    else:
        yield from _arrow_rows(shard)


def _table_rows(shard: Shard, encoding: str) -> Iterator[tuple[int, list[str]]]:
    try:
        with open(shard.path, encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter="\t" if shard.fmt == "tsv" else ",")
            for number, row in enumerate(reader, start=1):
                texts = [cell for cell in row if cell.strip()]
                if texts:
                    yield number, texts
    except UnicodeDecodeError as err:
        raise ContaminationError(f"{shard.path}: not {encoding} ({err.reason}); pass the "
                                 "file's --encoding (e.g. gb18030)") from err
    except csv.Error as err:
        raise ContaminationError(f"{shard.path}: unreadable {shard.fmt.upper()} ({err})") from err


def _arrow_rows(shard: Shard) -> Iterator[tuple[int, list[str]]]:
    import pyarrow as pa
    import pyarrow.ipc
    import pyarrow.parquet as pq

    try:
        if shard.fmt == "parquet":
            batches = pq.ParquetFile(shard.path).iter_batches(batch_size=4096)
        else:  # a saved Hugging Face dataset: Arrow IPC stream files
            batches = iter(pa.ipc.open_stream(pa.memory_map(shard.path)))
        number = 0
        for batch in batches:
            for row in batch.to_pylist():
                number += 1
                texts = [t for t in strings(row) if t.strip()]
                if texts:
                    yield number, texts
    except (pa.ArrowException, OSError) as err:
        raise ContaminationError(f"{shard.path}: unreadable {shard.fmt} file "
                                 f"({str(err).splitlines()[0]})") from err

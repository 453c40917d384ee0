"""The append-only store of finished LLM calls (see :mod:`medteb.build.llm`)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


class ResponseStore:
    """Append-only JSONL of finished calls, keyed by :func:`request_key`; thread-safe.

    A line torn by a crash in the middle of a write is ignored when the file is opened (the
    call it belonged to is simply made again). A later record for a key supersedes an earlier
    one (used when failures are retried on request).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.torn_lines = 0
        self._records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._needs_newline = False
        if self.path.is_file():
            raw = self.path.read_bytes()
            self._needs_newline = bool(raw) and not raw.endswith(b"\n")
            for line in raw.splitlines():
                try:
                    record = json.loads(line)
                    self._records[record["key"]] = record
                except (ValueError, KeyError, TypeError):
                    self.torn_lines += 1
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: str) -> dict[str, Any] | None:
        return self._records.get(key)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record durably (flush + fsync) before returning."""
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            with self.path.open("a", encoding="utf-8") as handle:
                if self._needs_newline:
                    handle.write("\n")
                    self._needs_newline = False
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            self._records[record["key"]] = record

"""A release's ``manifest.json``: files with SHA-256 and row counts, the queries' date window,
the build's datasheet and the parent release (pydantic, ``extra="forbid"``)."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from medteb.errors import MedtebError

MANIFEST = "manifest.json"
RELEASES_ENV = "MEDTEB_RELEASES_DIR"
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ReleaseError(MedtebError, ValueError):
    """A release that cannot be created, read or verified."""


class FileEntry(BaseModel):
    """One file of a release: its path in the release, SHA-256, size and row count."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    sha256: str
    bytes: int
    rows: int


class TaskSummary(BaseModel):
    """A task's counts and the date window of its dated queries (None when none is dated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    queries: int
    documents: int
    dated_queries: int
    first_date: str | None
    last_date: str | None


class Manifest(BaseModel):
    """``manifest.json`` of a release."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    format: int = 1
    version: str
    created: str
    parent: str | None
    queries_after: str | None
    files: list[FileEntry]
    tasks: dict[str, TaskSummary]
    declared_shared: dict[str, list[str]] = {}
    build: dict[str, Any]


def check_version(version: str) -> str:
    """``version`` if it is a usable release name (letters, digits, ``._-``)."""
    if not _VERSION.fullmatch(version):
        raise ReleaseError(f"release version {version!r}: use letters, digits, '.', '_' and '-' "
                           "(at most 64, starting with a letter or digit), e.g. 2026.1")
    return version


def releases_dir(given: str | os.PathLike | None) -> Path:
    """The releases folder: ``given``, else ``MEDTEB_RELEASES_DIR``, else ``./releases``."""
    return Path(given or os.environ.get(RELEASES_ENV) or "releases").expanduser()


def release_folder(given: str | os.PathLike | None, version: str) -> Path:
    """The folder of release ``version`` in the releases folder (:func:`releases_dir`).

    Raises:
        ReleaseError: no such release there (the error names the releases that exist).
    """
    root = releases_dir(given)
    folder = root / version
    if (folder / MANIFEST).is_file():
        return folder
    known = [p.name for p in sorted(root.iterdir()) if (p / MANIFEST).is_file()] \
        if root.is_dir() else []
    close = difflib.get_close_matches(version, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ReleaseError(f"no release {version!r} in {root}.{hint} Releases there: "
                       f"{', '.join(known) or 'none'} (the folder is --releases-dir, else "
                       f"{RELEASES_ENV}, else ./releases)")


def file_entry(root: Path, path: Path) -> FileEntry:
    """Hash and count one file (rows: non-blank lines, less a TSV's header)."""
    digest, rows, size = hashlib.sha256(), 0, 0
    with path.open("rb") as handle:
        for line in handle:
            digest.update(line)
            size += len(line)
            rows += bool(line.strip())
    if path.suffix == ".tsv" and rows:
        rows -= 1
    return FileEntry(path=path.relative_to(root).as_posix(), sha256=digest.hexdigest(),
                     bytes=size, rows=rows)


def read_manifest(folder: str | os.PathLike) -> Manifest:
    """The validated manifest of the release in ``folder``.

    Raises:
        ReleaseError: no manifest, or one that is not valid JSON or breaks the schema.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ReleaseError(f"{folder}: not a release (no {MANIFEST}); `medteb release create` "
                           "makes one")
    try:
        return Manifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as err:
        first = str(err).splitlines()[0] if not isinstance(err, ValidationError) else (
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()[:3]))
        raise ReleaseError(f"{path}: unreadable manifest ({first})") from err


def list_releases(root: Path) -> list[Manifest]:
    """The releases in ``root``, oldest first (by creation date, then version)."""
    if not root.is_dir():
        return []
    found = [read_manifest(p) for p in sorted(root.iterdir()) if (p / MANIFEST).is_file()]
    return sorted(found, key=lambda m: (m.created, m.version))


def release_version(data_dir: str | os.PathLike) -> str | None:
    """The version of the release whose folder is ``data_dir``; None when it is not one.

    Used for the dataset revision of tasks read from a release (``release-V-<hash>``).
    """
    if not (Path(data_dir) / MANIFEST).is_file():
        return None
    return read_manifest(data_dir).version

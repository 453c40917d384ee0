"""A local model folder's identity: the SHA-256 of every byte of its weights and configuration.

Two checkpoints that differ anywhere — one layer changed by LoRA, one tokenizer entry, the
pooling config — get different revisions, so they never share results or stored document
vectors. Every file of the folder is hashed in full (streamed, a few MiB at a time), except
documentation (``*.md``) and hidden files and folders (``.git``, ``.cache``, ...).

Hashing many GB takes seconds, so each file's digest is cached on disk, keyed by the file's
resolved path and checked against its size, modification and change times, inode and device:
a second run over unchanged files reads only the cache (milliseconds), and a file that was
rewritten in any way is hashed again. The cache lives in ``$MEDTEB_CACHE_DIR/fingerprints``
(default ``$XDG_CACHE_HOME/medteb``, i.e. ``~/.cache/medteb``); one small JSON file per weight
file, named by the SHA-256 of its path and written atomically. An unwritable cache only costs
the re-hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from medteb._fileio import write_atomic

logger = logging.getLogger(__name__)

_BLOCK = 4 << 20  # 4 MiB reads: hashlib releases the GIL and runs at the CPU's SHA-256 speed
_SKIPPED_SUFFIXES = (".md",)


def medteb_cache_dir() -> Path:
    """``$MEDTEB_CACHE_DIR``, else ``$XDG_CACHE_HOME/medteb`` (``~/.cache/medteb``)."""
    if os.environ.get("MEDTEB_CACHE_DIR"):
        return Path(os.environ["MEDTEB_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "medteb"


def model_files(folder: Path) -> list[Path]:
    """The files that define a model folder, sorted: all but docs and hidden files/folders."""
    files = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in _SKIPPED_SUFFIXES or not path.is_file():
            continue
        files.append(path)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def file_sha256(path: Path) -> str:
    """The SHA-256 of a whole file, streamed in 4 MiB blocks (no cache)."""
    digest = hashlib.sha256()
    buffer = bytearray(_BLOCK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while True:
            n = handle.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
    return digest.hexdigest()


def _stat_key(stat: os.stat_result) -> dict[str, int]:
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns,
            "inode": stat.st_ino, "device": stat.st_dev}


def cached_file_sha256(path: Path, cache_dir: Path | None = None) -> str:
    """:func:`file_sha256`, re-used from the cache while the file is unchanged (see module doc)."""
    path = path.resolve()
    stat = _stat_key(path.stat())
    name = hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()
    entry = (cache_dir or medteb_cache_dir() / "fingerprints") / name[:2] / f"{name}.json"
    try:
        cached = json.loads(entry.read_text(encoding="utf-8"))
        if cached.get("path") == str(path) and cached.get("stat") == stat:
            return str(cached["sha256"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # no entry, or an unreadable one: hash the file
    digest = file_sha256(path)
    if _stat_key(path.stat()) == stat:  # not rewritten while we read it
        try:
            write_atomic(entry, json.dumps({"path": str(path), "stat": stat, "sha256": digest},
                                           ensure_ascii=False) + "\n")
        except OSError as err:
            logger.debug("cannot cache the digest of %s in %s: %s", path, entry, err)
    return digest


def weights_fingerprint(folder: Path, cache_dir: Path | None = None) -> str:
    """A stable, short revision for a model folder: 12 hex digits of the SHA-256 over every file.

    The digest covers each file's relative path, size and full content (see the module
    docstring for which files count); a changed byte anywhere gives another revision.

    Args:
        folder: the model folder.
        cache_dir: where per-file digests are cached (default ``<medteb cache>/fingerprints``).
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in model_files(folder):
        relative = path.relative_to(folder).as_posix()
        size = path.stat().st_size
        digest.update(f"{relative}\0{size}\0{cached_file_sha256(path, cache_dir)}\n".encode())
    return digest.hexdigest()[:12]

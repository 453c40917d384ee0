"""Atomic writes, used everywhere MedTEB writes a file or folder a reader may see half-written.

A file goes to a temporary file in the target's folder, is flushed to disk (fsync), gets the
usual file mode (``mkstemp`` creates 0600), and is renamed over the target: a reader sees the
old file or the new one, never a torn one, and an interrupted write leaves at most a
``.<name>.*.tmp`` file that nothing reads.

A folder is written the same way (:func:`write_folder`): into a staging folder next to the
target (its name starts with '.', so nothing reads it), then moved in. A folder it replaces is
swapped with the new one in one step on Linux (``renameat2`` with ``RENAME_EXCHANGE``), so the
target always exists; elsewhere it is first renamed aside inside the staging folder, and the
target is missing only between those two renames. Either way the old folder is removed only
once the new one is in place, and a failure at any step leaves the old folder where it was.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_file(target: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """A new temporary file next to ``target``, filled by ``write(temp_path)``, fsynced, with
    the usual file mode; the caller renames it (or removes it). Removed if ``write`` fails."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Create ``path`` through ``write(temp_path)``, then fsync, chmod and rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_file(target, write)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write text (UTF-8, ``\\n`` line ends) or bytes to ``path`` atomically."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(raw))


def staging_folder(parent: str | os.PathLike, prefix: str) -> Path:
    """A new empty folder ``<parent>/<prefix>*.tmp`` (``prefix`` should start with '.', so that
    readers of ``parent`` skip it) with the usual folder mode; ``parent`` must exist; the caller
    removes the folder."""
    folder = Path(tempfile.mkdtemp(dir=parent, prefix=prefix, suffix=".tmp"))
    os.chmod(folder, 0o777 & ~_umask())
    return folder


@contextmanager
def staged(parent: str | os.PathLike, prefix: str) -> Iterator[Path]:
    """:func:`staging_folder` as a context: the folder and whatever is left in it are removed
    on the way out, whether the block succeeded or failed. ``parent`` is created if missing."""
    Path(parent).mkdir(parents=True, exist_ok=True)
    folder = staging_folder(parent, prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the system or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # no libc symbol (glibc < 2.28, musl)
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def move_into_place(folder: str | os.PathLike, target: str | os.PathLike, aside: Path) -> None:
    """Rename the complete ``folder`` to ``target``. An existing ``target`` is swapped with
    ``folder`` in one step where the system can (``folder`` then holds the old one), else
    renamed to ``aside`` first and renamed back if the second rename fails; the caller removes
    the old folder."""
    folder, target = Path(folder), Path(target)
    existed = target.exists()
    if existed and _exchange(folder, target):
        return
    if existed:
        os.replace(target, aside)
    try:
        os.replace(folder, target)
    except BaseException:
        if existed:
            os.replace(aside, target)
        raise


def write_folder(target: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Create or replace the folder ``target`` atomically, through ``write(empty_folder)``.

    ``write`` fills a staging folder next to ``target``; only when it returns is the staging
    folder renamed in (see the module docstring). If ``write`` or a rename fails, the old
    ``target`` (or its absence) is kept and nothing is left behind.
    """
    target = Path(target)
    with staged(target.parent, f".{target.name}.") as staging:
        folder = staging / "new"
        folder.mkdir(mode=0o777 & ~_umask())
        write(folder)
        move_into_place(folder, target, staging / "old")

"""Write a planned submission into results/ and regenerate the leaderboard: all or nothing.

``medteb submit`` is the only writer of ``results/``. :func:`commit_submission` makes its
writes a transaction: on a failure at *any* step (a write, a rename, a removal, the
leaderboard's regeneration) every step already done is undone in reverse order, so
``results/`` and the leaderboard files (the web site's too, when it is rebuilt) are
byte-identical to before, and the error is raised.

The steps:

1. every planned folder is written to a staging folder inside ``results/`` (same file system,
   so the swaps below are renames; its name starts with '.', which readers of ``results/``
   skip);
2. each target folder is swapped in: a folder it replaces is first moved aside into the
   staging folder, never deleted;
3. the leaderboard files are computed from the new ``results/``, written to temporary files
   next to their targets, the old files are copied aside, and the new ones renamed in;
4. only then is what was moved aside deleted. A failure in this last step loses nothing: the
   submission stands, and the leftover folder is named in the returned notes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from medteb._fileio import staging_folder, temp_file
from medteb.errors import MedtebError

if TYPE_CHECKING:
    from medteb.results.submit import SubmissionPlan

STAGING_PREFIX = ".submit-"


class CommitError(MedtebError, OSError):
    """A submission could not be written and could not be fully undone either."""


def _write_temp(target: Path, data: bytes) -> Path:
    """``data`` in a new temporary file next to ``target`` (fsynced, usual mode)."""
    return temp_file(target, lambda tmp: Path(tmp).write_bytes(data))


def commit_submission(plan: SubmissionPlan, results: Path,
                      outputs: Callable[[], dict[Path, bytes]]) -> list[str]:
    """Write ``plan`` into ``results`` and replace the files ``outputs()`` returns, atomically.

    Args:
        plan: the checked submission (:func:`medteb.results.submit.plan_submission`).
        results: the results folder; it must exist.
        outputs: called once the new folders are in place; returns the bytes of every derived
            file to replace (``leaderboard.md``, its figure, the web site's files), keyed by
            path.

    Returns:
        Notes on leftovers that could not be cleaned up after a successful commit.

    Raises:
        OSError, or whatever ``outputs`` raises, after everything was undone;
        CommitError: when undoing failed too (the message says where each file is).
    """
    undo: list[tuple[str, Callable[[], None]]] = []
    temporaries: list[Path] = []
    staging = staging_folder(results, STAGING_PREFIX)
    try:
        for i, entry in enumerate(plan.entries):
            stage = staging / str(i)
            stage.mkdir()
            for name, data in entry.files.items():
                (stage / name).write_bytes(data)
        for i, entry in enumerate(plan.entries):
            _swap_in(staging / str(i), results / entry.folder, staging / f"{i}.old", undo)
        for path, data in outputs().items():
            _replace_file(path, data, temporaries, undo)
    except BaseException as err:
        failed = _undo(undo)
        for path in temporaries:
            _quietly(path.unlink, missing_ok=True)
        if failed:
            raise CommitError(f"submission failed ({err}) and could not be fully undone: "
                              + "; ".join(failed)) from err
        _quietly(shutil.rmtree, staging)
        raise
    notes = []
    for path in [*temporaries, staging]:
        try:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        except OSError as err:
            notes.append(f"could not remove the leftover {path} ({err}); delete it by hand")
    return notes


def _swap_in(stage: Path, target: Path, aside: Path,
             undo: list[tuple[str, Callable[[], None]]]) -> None:
    if not target.parent.is_dir():
        target.parent.mkdir()
        undo.append((f"remove the new empty folder {target.parent}", target.parent.rmdir))
    if target.exists():
        os.replace(target, aside)
        undo.append((f"the replaced {target} is kept at {aside}",
                     lambda: os.replace(aside, target)))
    os.replace(stage, target)
    undo.append((f"remove the new {target} (moved back to {stage})",
                 lambda: os.replace(target, stage)))


def _replace_file(path: Path, data: bytes, temporaries: list[Path],
                  undo: list[tuple[str, Callable[[], None]]]) -> None:
    new = _write_temp(path, data)
    temporaries.append(new)
    if path.is_file():
        old = _write_temp(path, path.read_bytes())
        temporaries.append(old)
        shutil.copymode(path, old)
        os.replace(new, path)
        undo.append((f"the previous {path} is kept at {old}", lambda: os.replace(old, path)))
    else:
        os.replace(new, path)
        undo.append((f"remove the new {path}", path.unlink))


def _undo(undo: list[tuple[str, Callable[[], None]]]) -> list[str]:
    """Run the undo steps in reverse; return the description of each that failed."""
    failed = []
    for description, step in reversed(undo):
        try:
            step()
        except OSError:
            failed.append(description)
    return failed


def _quietly(function: Callable[..., object], *args: object, **kwargs: object) -> None:
    with contextlib.suppress(OSError):
        function(*args, **kwargs)

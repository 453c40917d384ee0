"""``reproductions.yaml``: the record of each `medteb reproduce` that matched an entry, and what
the board shows of it (the latest one's day and hardware). Light: the leaderboard reads it
without importing the runner."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

REPRODUCTIONS_FILE = "reproductions.yaml"


class Reproduction(BaseModel):
    """One record of ``reproductions.yaml``: who re-ran the entry, on what, with what result."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    date: str
    hardware: dict[str, str | int | list[str] | None]
    versions: dict[str, str | None]
    max_difference: float
    tasks: list[str]


def read_reproductions(folder: str | os.PathLike) -> list[Reproduction]:
    """The records of an entry's ``reproductions.yaml`` (oldest first); [] when none.

    Raises:
        ResultsError: the file is not YAML, not a list, or a record breaks the schema.
    """
    import yaml
    from pydantic import ValidationError

    from medteb.errors import ResultsError

    path = Path(folder) / REPRODUCTIONS_FILE
    if not path.is_file():
        return []
    try:
        records = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(records, list):
            raise ValueError("expected a list of reproductions")
        return [Reproduction.model_validate(r) for r in records]
    except (OSError, yaml.YAMLError, ValueError) as err:  # ValidationError is a ValueError
        first = (f"{'.'.join(map(str, err.errors()[0]['loc']))}: {err.errors()[0]['msg']}"
                 if isinstance(err, ValidationError) else str(err).splitlines()[0])
        raise ResultsError(f"{path}: not a valid reproductions file ({first})") from err


def hardware_text(record: Reproduction) -> str:
    """Where a reproduction ran, in a few words: the GPUs, else the CPU count and machine."""
    gpus = record.hardware.get("gpus") or []
    if isinstance(gpus, list) and gpus:
        names = dict.fromkeys(gpus)
        return ", ".join(f"{gpus.count(n)}x {n}" for n in names)
    return f"CPU ({record.hardware.get('cpu_count')} cores, {record.hardware.get('machine')})"


def latest_reproduction(folder: str | os.PathLike) -> tuple[str, str] | None:
    """(day, hardware) of an entry's latest reproduction, for the board; None when none."""
    records = read_reproductions(folder)
    if not records:
        return None
    last = max(records, key=lambda r: r.date)
    return last.date[:10], hardware_text(last)

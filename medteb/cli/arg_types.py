"""argparse value types shared by the subcommands (no other medteb imports, so any flag
module can use them)."""

from __future__ import annotations

import argparse


def device(value: str) -> str:
    """``--device`` values: a GPU index means ``cuda:<index>``."""
    return f"cuda:{value}" if value.isdigit() else value


def positive_int(value: str) -> int:
    """An argparse type: an integer of at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return number


def non_negative_float(value: str) -> float:
    """An argparse type: a finite number of at least 0."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value!r}")
    return number


def non_negative_int(value: str) -> int:
    """An argparse type: an integer of at least 0 (``4_020_000_000`` reads too)."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value!r}")
    return number

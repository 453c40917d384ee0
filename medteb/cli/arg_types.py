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

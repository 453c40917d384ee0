"""The argparse value types every subcommand shares, and their errors on the command line."""

from __future__ import annotations

import argparse

import pytest

from medteb.cli import main
from medteb.cli.arg_types import device, non_negative_float, positive_int


def test_values() -> None:
    assert positive_int("1") == 1 and positive_int("32") == 32
    assert non_negative_float("0") == 0.0 and non_negative_float("0.5") == 0.5
    assert device("0") == "cuda:0" and device("cpu") == "cpu" and device("cuda:1") == "cuda:1"


@pytest.mark.parametrize("value", ["0", "-3"])
def test_positive_int_refuses(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=f"must be a positive integer, got {value}"):
        positive_int(value)


@pytest.mark.parametrize("value", ["-0.5", "nan", "inf", "one"])
def test_non_negative_float_refuses(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=f"expected a number >= 0, got '{value}'"):
        non_negative_float(value)


def test_a_bad_value_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["encode-documents", "--document-model", "x", "--ray", "--ray-gpus-per-worker",
              "nan"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --ray-gpus-per-worker: expected a number >= 0, got 'nan'" in err

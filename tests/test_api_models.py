"""Served models (``api/<model>``) against a fault-injecting stub over real HTTP."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from medteb.cli import main
from medteb.endpoint import retry_after_seconds as _retry_after
from medteb.errors import MedtebError
from medteb.models.document_store import DocumentStore
from medteb.models.served.client import ApiConfig, ApiError, EmbeddingsClient
from medteb.models.served.encoder import ApiSpec
from medteb.models.served.side import PROBE_TEXT, ApiSide
from medteb.models.sides import SideConfig
from tests.conftest import ROOT
from tests.stub_embeddings import DIM, FAULTS, StubEmbeddings, vector_of

TEXTS = [f"患者{i}号：高血压第{i}期" for i in range(40)]
FAST = {"timeout_s": 0.4, "backoff_s": 0.01, "backoff_max_s": 0.3, "max_retries": 4}


@pytest.fixture(autouse=True)
def _no_default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDTEB_DOCUMENT_STORE", str(tmp_path / "default-store"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _side(stub: StubEmbeddings, tmp_path: Path, model: str = "m", **api: object) -> ApiSide:
    config = ApiConfig(stub.base_url, store=str(tmp_path / "store"),
                       **{"concurrency": 4, **FAST, **api})
    return ApiSide(f"api/{model}", config, "query")


def test_every_fault_is_retried_and_no_text_is_sent_again_after_success(tmp_path: Path) -> None:
    with StubEmbeddings(faults=FAULTS, hang_s=0.8) as stub:
        side = _side(stub, tmp_path)
        vectors = side.encode([*TEXTS, TEXTS[0]], batch_size=3, show_progress=False, desc="")
        outcomes = {outcome for _, outcome in stub.log}
        assert set(FAULTS) - {None} <= outcomes  # every kind of fault really happened
        answered = stub.successes()
        # every text (and the probe) answered exactly once: none sent again after a success
        assert sorted(answered) == sorted([*TEXTS, "维度探测 dimension probe"])
        expected = np.stack([vector_of(t) for t in [*TEXTS, TEXTS[0]]])
        np.testing.assert_allclose(vectors, expected, rtol=1e-6)
        assert side.dim == DIM and side.stats.encoded == len(TEXTS) and side.probes == 1
        assert (side.stats.asked, side.stats.reused) == (len(TEXTS) + 1, 0)  # TEXTS[0] twice
        assert side.requests == len(stub.log)  # retries and the probe included
        before = len(stub.log)
        again = side.encode(list(reversed(TEXTS)), 3, False, "")
        assert len(stub.log) == before  # all cached: no request
        np.testing.assert_allclose(again, expected[:-1][::-1], rtol=1e-6)


def test_a_run_stopped_by_a_failure_resumes_without_resending(tmp_path: Path) -> None:
    with StubEmbeddings(faults=(None, None, None, "500")) as stub:
        side = _side(stub, tmp_path, concurrency=1, max_retries=0)  # the probe: body 0
        with pytest.raises(ApiError, match="gave up after 1 attempts; last: HTTP 500"):
            side.encode(TEXTS, 4, False, "")  # bodies 1, 2 answered, body 3 fails for good
        assert len(stub.log) == 4  # nothing sent after the fatal failure
        kept = set(stub.successes())
        assert set(TEXTS[:8]) <= kept
        resumed = _side(stub, tmp_path)
        vectors = resumed.encode(TEXTS, 4, False, "")
        assert resumed.stats.reused == 8 and resumed.stats.encoded == len(TEXTS) - 8
        assert resumed.stats.asked == len(TEXTS) and resumed.probes == 1  # the check
    # the probe twice: embedded at first load, then checked before the resumed requests
    assert sorted(stub.successes()) == sorted([*TEXTS, PROBE_TEXT, PROBE_TEXT])
    np.testing.assert_allclose(vectors, np.stack([vector_of(t) for t in TEXTS]), rtol=1e-6)


def test_a_changed_model_behind_the_name_is_never_mixed_into_the_cache(tmp_path: Path) -> None:
    with StubEmbeddings() as stub:
        _side(stub, tmp_path).encode(TEXTS[:10], 8, False, "")
        rerun = _side(stub, tmp_path)
        assert len(stub.log) == 3  # the probe and two batches; a fully cached rerun sends nothing
        np.testing.assert_allclose(rerun.encode(TEXTS[:10], 8, False, ""),
                                   np.stack([vector_of(t) for t in TEXTS[:10]]), rtol=1e-6)
        assert len(stub.log) == 3
        same = _side(stub, tmp_path)
        same.encode(TEXTS[:12], 8, False, "")  # two new texts: the probe is checked first
        assert [texts for texts, _ in stub.log[3:]] == [[PROBE_TEXT], TEXTS[10:12]]
        assert same.requests == 2
        stub.version = "v2"  # another model is now served under the same name
        changed = _side(stub, tmp_path)
        store = tmp_path / "store"
        with pytest.raises(ApiError, match=r"^api/m at http://127\.0\.0\.1:\d+/v1/embeddings "
                                           r"no longer serves the model whose vectors are cached "
                                           rf"in {re.escape(str(store))}: the probe text's "
                                           r"vector changed \(cosine -?0\.\d{4} with the "
                                           r"cached vector\)"):
            changed.encode(TEXTS[:14], 8, False, "")
        assert stub.log[-1][0] == [PROBE_TEXT]  # nothing but the probe was sent
        assert changed.cache.lookup(TEXTS[12:14])[1] == [0, 1]  # nothing new was stored
        np.testing.assert_allclose(changed.encode(TEXTS[:12], 8, False, ""),  # cached: as before
                                   np.stack([vector_of(t) for t in TEXTS[:12]]), rtol=1e-6)


def test_a_rerun_works_with_the_endpoint_down(tmp_path: Path) -> None:
    with StubEmbeddings() as stub:
        _side(stub, tmp_path).encode(TEXTS, 8, False, "")
    down = ApiConfig(f"http://127.0.0.1:{_free_port()}/v1", store=str(tmp_path / "store"))
    side = ApiSide("api/m", down, "query")  # dimension from the cache
    np.testing.assert_allclose(side.encode(TEXTS[:5], 8, False, ""),
                               np.stack([vector_of(t) for t in TEXTS[:5]]), rtol=1e-6)
    with pytest.raises(ApiError, match=r"^embeddings endpoint http://127\.0\.0\.1:\d+/v1/"
                                       r"embeddings \(served model 'm'\): cannot connect"):
        side.encode(["不在缓存里的新文本"], 8, False, "")


def test_retry_after_is_honoured_and_backoff_grows() -> None:
    sleeps: list[float] = []
    with StubEmbeddings(faults=("429", None), retry_after="0.25") as stub:
        client = EmbeddingsClient("m", ApiConfig(stub.base_url, **FAST), sleep=sleeps.append)
        client.embed(TEXTS[:4], 2)
    assert sleeps == [0.25]  # the 429's Retry-After, not the (shorter) backoff
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0 and _retry_after("x") is None
    sleeps.clear()
    with StubEmbeddings(faults=("500",)) as stub:  # every new body fails once, then succeeds
        config = ApiConfig(stub.base_url, **{**FAST, "backoff_s": 1.0, "backoff_max_s": 10.0})
        EmbeddingsClient("m", config, sleep=sleeps.append).embed_batch(["a"])
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] <= 1.0  # backoff_s * 2**0 with jitter


def test_retries_run_out_with_a_one_line_error(tmp_path: Path) -> None:
    with StubEmbeddings(faults=("500",)) as stub:
        client = EmbeddingsClient("m", ApiConfig(stub.base_url, **{**FAST, "max_retries": 0}))
        with pytest.raises(ApiError, match=r"served model 'm'\): gave up after 1 attempts; "
                                           r"last: HTTP 500$"):
            client.embed(TEXTS[:4], 2)


def test_refused_connection_fails_at_once() -> None:
    config = ApiConfig(f"http://127.0.0.1:{_free_port()}/v1", concurrency=1, **FAST)
    client = EmbeddingsClient("m", config)
    start = time.perf_counter()
    with pytest.raises(ApiError, match=r"cannot connect .*is the server running there\?$"):
        client.embed(TEXTS, 4)
    assert time.perf_counter() - start < 2 and client.requests == 1  # no retry, no next batch


def test_a_4xx_fails_at_once_and_the_key_never_leaks(tmp_path: Path, monkeypatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-test-9f8e7d6c5b4a"
    monkeypatch.setenv("MY_EMBED_KEY", secret)
    caplog.set_level(logging.DEBUG)
    with StubEmbeddings(faults=("500", None)) as stub:
        config = ApiConfig(stub.base_url, key_env="MY_EMBED_KEY", **FAST)
        with pytest.raises(ApiError) as caught:
            EmbeddingsClient("reject", config).embed(TEXTS[:2], 2)
        assert len(stub.log) == 1  # not retried
        assert "HTTP 401: invalid key in header Bearer ***" in str(caught.value)
        assert secret not in str(caught.value) and "\n" not in str(caught.value)
        # a full run with the key: sent as a bearer token, written nowhere
        out = tmp_path / "out"
        argv = ["run", "-m", "api/m", "--api-base", stub.base_url, "--api-key-env",
                "MY_EMBED_KEY", "-t", "MedTEB-STS", "--data-dir", "sample", "--output-folder",
                str(out), "--document-store", str(tmp_path / "store"), "-v", "2"]
        assert main(argv) == 0
    assert set(stub.authorizations) == {f"Bearer {secret}"}
    assert secret not in caplog.text
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".safetensors" for p in written)
    for path in written:
        assert secret.encode() not in path.read_bytes(), path


def test_run_files_results_under_the_served_name_with_the_host(tmp_path: Path,
                                                               capsys) -> None:
    with StubEmbeddings(faults=(None, "429", None, "drop")) as stub:
        argv = ["run", "-m", "api/stub-embed", "--api-base", stub.base_url, "-t",
                "MedTEB-Retrieval", "MedTEB-STS", "--data-dir", "sample", "--output-folder",
                str(tmp_path / "out"), "--document-store", str(tmp_path / "store"),
                "--batch-size", "16", "-v", "0"]
        assert main(argv) == 0
        first = capsys.readouterr().out
        sent = len(stub.log)
        assert main([*argv, "--overwrite-strategy", "always"]) == 0
        assert len(stub.log) == sent  # the rerun is answered from the cache
    second = capsys.readouterr().out
    host = stub.base_url.split("/")[2]
    assert re.search(rf"api/stub-embed at {host}: \d+ texts: 0 from the vector cache", first)
    assert re.search(rf"api/stub-embed at {host}: \d+ texts: \d+ from the vector cache .*, 0 "
                     r"from the endpoint \(0 distinct texts sent\); 0 requests", second)
    (meta_path,) = (tmp_path / "out" / "api__stub-embed").glob("*/model_meta.json")
    meta = json.loads(meta_path.read_text())
    assert meta["name"] == "api/stub-embed" and meta["embed_dim"] == DIM
    assert meta["loader_kwargs"]["api"]["endpoint_host"] == host
    assert meta["framework"] == ["API"]
    score = json.loads((meta_path.parent / "MedTEB-Retrieval.json").read_text())
    assert 0 <= score["scores"]["test"][0]["main_score"] <= 1


def test_reruns_say_which_cache_answered_with_counts_that_add_up(tmp_path: Path,
                                                                 capsys) -> None:
    """First run: every text from the endpoint; a rerun: every task from its result file,
    no text asked; a forced rerun: the same number of texts, all from the vector cache."""
    with StubEmbeddings() as stub:
        argv = ["run", "-m", "api/m", "--api-base", stub.base_url, "--data-dir", "sample",
                "--output-folder", str(tmp_path / "out"), "--document-store",
                str(tmp_path / "store"), "-v", "0"]
        outs = []
        for extra in ([], [], ["--overwrite-strategy", "always"]):
            assert main([*argv, *extra]) == 0
            outs.append(capsys.readouterr().out)
        sent = [t for texts, _ in stub.log for t in texts]
    line = re.compile(r"api/m at [\d.:]+: (\d+) texts: (\d+) from the vector cache \S+, (\d+) "
                      r"from the endpoint \((\d+) distinct texts sent\); (\d+) requests "
                      r"\(retries and (\d+) probe text\(s\) included\)")
    first = [int(n) for n in line.search(outs[0]).groups()]
    asked, cached, requested, distinct, requests, probes = first
    assert cached == 0 and requested == asked and probes == 1
    assert distinct == len(set(sent)) - 1 == len(sent) - 1  # each text sent once, the probe apart
    assert requests == len(stub.log)
    assert distinct < asked  # some texts are asked twice and sent once
    assert "Cached results: 3 of 3 tasks answered from their result files, nothing encoded" \
        in outs[1]
    assert ("api/m at " in outs[1] and "no text asked of the vector cache or the endpoint "
            "(nothing was encoded in this run); 0 requests (retries and 0 probe text(s) "
            "included)") in outs[1]
    third = [int(n) for n in line.search(outs[2]).groups()]
    assert third == [asked, asked, 0, 0, 0, 0]  # the same texts, all from the vector cache


def test_api_sides_of_a_pair_each_with_its_own_endpoint(tmp_path: Path) -> None:
    with StubEmbeddings() as queries, StubEmbeddings() as documents:
        argv = ["run", "--query-model", "api/q", "--document-model", "api/d",
                "--query-api-base", queries.base_url, "--document-api-base", documents.base_url,
                "--no-instructions", "-t", "MedTEB-Retrieval", "--data-dir", "sample",
                "--output-folder", str(tmp_path / "out"), "--document-store",
                str(tmp_path / "store"), "-v", "0"]
        assert main(argv) == 0
    corpus = [json.loads(line) for line in (ROOT / "tasks/MedTEB-Retrieval/sample/corpus.jsonl")
              .read_text(encoding="utf-8").splitlines() if line.strip()]
    query_texts = set(queries.successes())
    document_texts = set(documents.successes())
    assert {c["text"] for c in corpus} <= document_texts
    assert not query_texts & {c["text"] for c in corpus}
    meta = json.loads(next((tmp_path / "out").rglob("model_meta.json")).read_text())
    pair = meta["loader_kwargs"]["asymmetric"]
    assert pair["query"]["revision"] == pair["document"]["revision"] == "served"
    assert pair["query"]["endpoint_host"] == queries.base_url.split("/")[2]
    assert pair["document"]["endpoint_host"] == documents.base_url.split("/")[2]
    assert pair["document"]["pooling"] == "api"
    # one copy of each document vector: the served side's cache, not a second per-task entry
    assert len(DocumentStore(tmp_path / "store").find_encoders()) == 2


@pytest.mark.parametrize(("argv", "message"), [
    (["-m", "api/x"], r"api/x is a served model: give its endpoint with --api-base URL"),
    (["-m", "api/x", "--api-base", "localhost:8000"], r"is not an http\(s\) URL"),
    (["--query-model", "api/q", "--document-model", "api/d", "--query-api-base",
      "http://127.0.0.1:1/v1"], r"api/d is a served model: give its endpoint with "
                                r"--document-api-base \(or --api-base\)"),
    (["-m", "api/x", "--api-base", "http://127.0.0.1:1/v1", "--api-timeout", "nan"],
     r"the timeout must be positive and backoffs not negative"),
    (["-m", "api/x", "--api-base", "http://127.0.0.1:1/v1", "--api-retries", "-1"],
     r"retries at least 0"),
])
def test_bad_api_settings_exit_2_before_anything_is_sent(argv: list[str], message: str,
                                                         monkeypatch, capsys) -> None:
    monkeypatch.delenv("MEDTEB_API_BASE", raising=False)
    assert main(["run", *argv, "--data-dir", "sample", "-v", "0"]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_stored_documents_only_is_refused_for_a_served_document_model(tmp_path: Path) -> None:
    from medteb.models.asymmetric import AsymmetricSpec

    api = ApiConfig("http://127.0.0.1:1/v1")
    spec = AsymmetricSpec(SideConfig("api/q", api=api), SideConfig("api/d", api=api),
                          store=tmp_path, store_only=True)
    with pytest.raises(MedtebError, match="already works with the endpoint down"):
        spec.load()


def test_speed_times_requests_not_the_cache(tmp_path: Path) -> None:
    from medteb.evaluation.speed import SpeedConfig, speed_test

    with StubEmbeddings() as stub:
        spec = ApiSpec("m", ApiConfig(stub.base_url, store=str(tmp_path / "s")))
        report = speed_test(SpeedConfig(model=spec, data_dir="sample", latency_queries=5,
                                        batch_sizes=(4,), throughput_queries=8, warmup=1),
                            on_progress=lambda *_: None)
        sent = sum(len(texts) for texts, _ in stub.log)
    assert sent == 1 + 1 + 4 + 5 + 8  # probe, warm-up, batch warm-up, latency, throughput
    result = report.to_result()["scores"]["test"][0]
    assert result["timed"].startswith("POST http://127.0.0.1:") and result["qps_batch_4"] > 0
    assert report.hardware_label.startswith("endpoint 127.0.0.1:")



def test_a_dead_endpoint_exits_2_with_one_line_and_writes_nothing(tmp_path: Path,
                                                                   capsys) -> None:
    base = f"http://127.0.0.1:{_free_port()}/v1"
    argv = ["run", "-m", "api/x", "--api-base", base, "-t", "MedTEB-STS", "--data-dir",
            "sample", "--output-folder", str(tmp_path / "out"), "-v", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(rf"medteb: error: embeddings endpoint {re.escape(base)}/embeddings "
                        r"\(served model 'x'\): cannot connect \(.*\); is the server running "
                        r"there\?", err)
    assert not (tmp_path / "out").exists()


def test_speed_of_a_pair_times_the_served_query_side(tmp_path: Path) -> None:
    from medteb.evaluation.speed import SpeedConfig, speed_test
    from medteb.models.asymmetric import AsymmetricSpec

    with StubEmbeddings() as stub:
        api = ApiConfig(stub.base_url, store=str(tmp_path / "s"))
        spec = AsymmetricSpec(SideConfig("api/q", api=api), SideConfig("api/d", api=api),
                              query_template="{text}", store=tmp_path / "s")
        report = speed_test(SpeedConfig(model=spec, data_dir="sample", latency_queries=3,
                                        batch_sizes=(2,), throughput_queries=4, warmup=0),
                            on_progress=lambda *_: None)
        sent = [t for texts, _ in stub.log for t in texts]
    assert len(sent) == 2 + 2 + 3 + 4  # two probes, batch warm-up, latency, throughput
    assert report.hardware_label.startswith("endpoint 127.0.0.1:")


def test_a_trickling_answer_is_cut_at_the_total_timeout_and_retried() -> None:
    with StubEmbeddings(faults=("trickle",), hang_s=0.4) as stub:  # pauses 0.08 s, whole 1.6 s
        client = EmbeddingsClient("m", ApiConfig(stub.base_url, **FAST))  # timeout 0.4 s
        started = time.monotonic()
        vectors = client.embed_batch(["甲", "乙"])
        assert time.monotonic() - started < 1.4  # the first answer was not waited for
    assert [outcome for _, outcome in stub.log] == ["trickle", "ok"] and client.requests == 2
    np.testing.assert_allclose(vectors, np.stack([vector_of("甲"), vector_of("乙")]), rtol=1e-6)


def test_a_fatal_failure_stops_batches_waiting_to_retry() -> None:
    with StubEmbeddings(retry_after="3") as stub:
        config = ApiConfig(stub.base_url, **{**FAST, "backoff_max_s": 30.0, "max_retries": 6},
                           concurrency=2)
        started = time.monotonic()
        with pytest.raises(ApiError, match=r"HTTP 400: no$"):
            EmbeddingsClient("m", config).embed(["BUSY 1", "FATAL 2"], batch_size=1)
        assert time.monotonic() - started < 2.5  # not 6 retries x 3 s of the busy batch
    assert [outcome for _, outcome in stub.log].count("503") == 1


def test_a_key_echoed_across_the_cut_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDTEB_API_KEY", "sk-STRADDLE-0123456789")
    with StubEmbeddings() as stub, pytest.raises(ApiError) as caught:
        EmbeddingsClient("reject-long", ApiConfig(stub.base_url, **FAST)).embed_batch(["a"])
    assert "HTTP 401" in str(caught.value) and "***" in str(caught.value)
    assert "sk-S" not in str(caught.value)


def test_credentials_in_the_base_url_are_refused_without_echo() -> None:
    with pytest.raises(MedtebError, match=r"^API base URL has a user:password part; give the "
                                          r"key in an environment variable instead") as caught:
        ApiConfig("https://bob:sk-SECRET@example.org/v1").check()
    assert "sk-SECRET" not in str(caught.value)


def test_no_texts_no_request_and_a_dimension_change_is_never_stored(tmp_path: Path) -> None:
    with StubEmbeddings() as stub:
        side = _side(stub, tmp_path)
        assert side.encode([], 8, False, "").shape == (0, DIM) and len(stub.log) == 1  # probe
        side.encode(TEXTS[:4], 8, False, "")
        stub.dim = DIM - 2
        changed = _side(stub, tmp_path)
        changed.check_unchanged = lambda: None  # the guard behind the probe check
        with pytest.raises(ApiError, match=rf"now serves {DIM - 2}-d vectors but its cached "
                                           rf"ones are {DIM}-d"):
            changed.encode(TEXTS[:6], 8, False, "")
        assert changed.cache.lookup(TEXTS[4:6])[1] == [0, 1]  # nothing of it was stored

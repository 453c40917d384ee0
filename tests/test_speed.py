"""``medteb speed``: percentile and QPS arithmetic on a fake clock, routing, the result file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medteb.benchmark.tasks import get_task
from medteb.cli import main
from medteb.errors import MedtebError
from medteb.evaluation.speed import measure, query_encoder
from medteb.models.sides import PAPER_QUERY_TEMPLATE
from medteb.results.speed_record import SpeedResult
from tests.conftest import copy_seeded_results
from tests.test_asymmetric import _pair


class FakeClock:
    """A clock that moves only when the fake encoder works."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fake_encoder(clock: FakeClock):
    """A single query "q<i>" costs (i + 1) ms; a batch costs 2 ms + 0.5 ms per query."""
    def encode(texts: list[str], batch_size: int) -> None:
        if batch_size == 1:
            clock.now += (int(texts[0][1:]) + 1) / 1000
        else:
            clock.now += (2 + 0.5 * len(texts)) / 1000
    return encode


def test_percentiles_and_throughput_by_hand() -> None:
    clock = FakeClock()
    texts = [f"q{i}" for i in range(200)]
    result = measure(fake_encoder(clock), texts, latency_queries=200, batch_sizes=(32, 256),
                     throughput_queries=512, warmup=10, clock=clock)
    # latencies are 1, 2, ..., 200 ms; the warm-up's (q0..q9 again) are not among them.
    assert len(result.latencies) == 200
    # linear interpolation at rank (n - 1) q: p50 at 99.5 -> 100.5; p95 at 189.05 -> 190.05;
    # p99 at 197.01 -> 198.01
    assert result.latency_ms() == pytest.approx({50: 100.5, 95: 190.05, 99: 198.01})
    # batch 32: 16 batches x (2 + 16) ms = 288 ms for 512 queries; batch 256: 2 x 130 ms
    assert result.qps[32] == pytest.approx(512 / 0.288)
    assert result.qps[256] == pytest.approx(512 / 0.260)


def test_fewer_texts_are_cycled_and_small_budgets_still_fill_two_batches() -> None:
    clock, seen = FakeClock(), []

    def encode(texts: list[str], batch_size: int) -> None:
        seen.append((batch_size, len(texts)))
        clock.now += 0.001

    measure(encode, ["a", "b", "c"], latency_queries=5, batch_sizes=(4,), throughput_queries=2,
            warmup=2, clock=clock)
    assert seen == [(1, 1)] * 2 + [(4, 4)] + [(1, 1)] * 5 + [(4, 4)] * 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"texts": []}, "no queries to time"),
    ({"batch_sizes": (0,)}, "must be positive"),
    ({"latency_queries": 0}, "must be positive"),
])
def test_bad_measurements_are_refused(kwargs: dict, message: str) -> None:
    settings = {"texts": ["a"], **kwargs}
    with pytest.raises(MedtebError, match=message):
        measure(lambda t, b: None, **settings)


def test_a_pair_times_its_query_encoder_with_the_instruction(tmp_path: Path) -> None:
    encoder, query, document = _pair(tmp_path, query_template=PAPER_QUERY_TEMPLATE)
    metadata = get_task("MedTEB-Retrieval").metadata
    encode, facts = query_encoder(encoder, metadata)
    encode(["头痛"], 1)
    assert query.texts == [f"Instruct: {metadata.prompt}\nQuery: 头痛"] and document.texts == []
    assert facts["n_parameters"] == 10 and facts["path"].startswith("query encoder of the pair")


def test_speed_writes_a_result_the_leaderboard_shows(tmp_path: Path, tiny_bert: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    run_folder = tmp_path / "run"
    assert main(["run", "-m", str(tiny_bert), "--data-dir", "sample", "--output-folder",
                 str(run_folder), "-v", "0"]) == 0
    assert main(["speed", "-m", str(tiny_bert), "--output-folder", str(run_folder),
                 "--latency-queries", "20", "--batch-sizes", "4", "8", "--throughput-queries",
                 "16", "--warmup", "2", "-v", "0"]) == 0
    out = capsys.readouterr().out
    assert "| latency p50 (batch 1, 20 queries) |" in out and "| throughput, batch 8 |" in out
    assert "bundled SAMPLE's queries were timed" in out
    (speed_file,) = run_folder.glob("local__tiny-bert-zh/*/MedTEB-Speed.json")
    speed = SpeedResult.model_validate_json(speed_file.read_text())
    score = speed.measurement
    assert score.batch_size == 4 and score.qps == score.main_score > 0  # 32 not measured
    extra = json.loads(speed_file.read_text())["scores"]["test"][0]
    assert extra["latency_ms_p50"] <= extra["latency_ms_p95"] <= extra["latency_ms_p99"]
    assert extra["n_parameters"] > 0 and extra["device"] == "cpu"
    assert extra["timed"] == "sentence-transformers encode_query"
    assert speed.dataset_revision.startswith("sample-")

    repo = tmp_path / "repo"
    copy_seeded_results(repo)
    monkeypatch.chdir(repo)
    assert main(["submit", str(run_folder), "--training-data", "none"]) == 0
    board = (repo / "leaderboard.md").read_text()
    row = next(line for line in board.splitlines() if "local/tiny-bert-zh" in line)
    assert f"| {score.qps:.1f} (a) |" in row
    assert f"(a) QPS measured on {score.hardware}, batch 4" in board

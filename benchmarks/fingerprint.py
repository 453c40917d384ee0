"""Model identity cost: MedTEB's whole-file fingerprint vs ``sha256sum``, then a cached re-run.

A model folder of ``--gb`` GB of random "weights" (split into shards like a real checkpoint,
plus a config.json) is written to a temp dir. Measured side by side, in one run, on the same
files, with the page cache warmed first (both read from memory, so the ratio compares hashing,
not the disk), the two uncached measurements interleaved (best of ``--repeats`` each):

- ``sha256sum`` over the files (coreutils; the reference throughput);
- :func:`medteb.models.weights_fingerprint` with an empty digest cache (hashes every byte);
- the same call again: every file's digest comes from the cache (the goal: < 50 ms).

Goal: the uncached fingerprint at >= 0.8x the throughput of ``sha256sum``.

    python benchmarks/fingerprint.py [--gb 1.0] [--shards 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from medteb.models.fingerprint import weights_fingerprint


def write_model(folder: Path, total_bytes: int, shards: int) -> list[Path]:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"hidden_size": 1024}\n', encoding="utf-8")
    files = [folder / "config.json"]
    chunk = os.urandom(16 << 20)
    per_shard = total_bytes // shards
    for i in range(shards):
        path = folder / f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        with path.open("wb") as handle:
            written = 0
            while written < per_shard:
                n = min(len(chunk), per_shard - written)
                handle.write(chunk[:n])
                written += n
        files.append(path)
    return files


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="size of the weights (GB)")
    parser.add_argument("--shards", type=int, default=4, help="weight files")
    parser.add_argument("--repeats", type=int, default=3, help="best of N (default 3)")
    args = parser.parse_args()
    if shutil.which("sha256sum") is None:
        print("sha256sum (coreutils) not found", file=sys.stderr)
        return 1
    total = int(args.gb * 1e9)
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        files = write_model(model, total, args.shards)
        size = sum(p.stat().st_size for p in files)
        command = ["sha256sum", *map(str, files)]
        subprocess.run(command, check=True, capture_output=True)  # warm the page cache

        def reference() -> None:
            subprocess.run(command, check=True, capture_output=True)

        def uncached() -> None:
            shutil.rmtree(Path(tmp) / "cache", ignore_errors=True)
            weights_fingerprint(model, cache_dir=Path(tmp) / "cache")

        pairs = [(timed(reference), timed(uncached)) for _ in range(args.repeats)]  # interleaved
        sha, ours = min(p[0] for p in pairs), min(p[1] for p in pairs)
        revision = weights_fingerprint(model, cache_dir=Path(tmp) / "cache")
        cached = min(timed(lambda: weights_fingerprint(model, cache_dir=Path(tmp) / "cache"))
                     for _ in range(args.repeats))
        assert weights_fingerprint(model, cache_dir=Path(tmp) / "cache") == revision
    gb = size / 1e9
    print(f"model folder: {len(files)} files, {gb:.2f} GB (best of {args.repeats})")
    print(f"sha256sum                      : {sha:7.3f} s  {gb / sha:6.2f} GB/s")
    print(f"weights_fingerprint (no cache) : {ours:7.3f} s  {gb / ours:6.2f} GB/s")
    print(f"weights_fingerprint (cached)   : {cached * 1e3:7.2f} ms")
    ratio = sha / ours
    print(f"throughput vs sha256sum: {ratio:.2f}x (goal >= 0.80x): "
          f"{'OK' if ratio >= 0.8 else 'BELOW GOAL'}")
    print(f"cached re-run: {cached * 1e3:.2f} ms (goal < 50 ms): "
          f"{'OK' if cached < 0.05 else 'ABOVE GOAL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

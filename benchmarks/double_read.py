"""What `medteb run --data-dir DIR` pays to parse and validate its local data twice.

The run validates every task's data before importing mteb and torch
(:func:`medteb.benchmark.data.sources.check_run_inputs`, so that a corrupt file fails fast),
and each task's ``load_data`` then reads the same files again
(``read_retrieval`` / ``read_sts``). This script converts the largest real public data in
``../shared/data`` into a MedTEB data folder (cEpilepsyQA -> MedTEB-Retrieval and
MedTEB-Rerank, CHIP-STS train + dev -> MedTEB-STS, as `medteb import` does) and times, in one
run and interleaved, one parse+validate (the check alone) against two (the check, then the
loads' reads), median of ``REPEATS``.

    python benchmarks/double_read.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared/data"
REPEATS = 5
TASKS = ("MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS")


def _load_reads(data_dir: Path) -> None:
    """The reads each task's ``load_data`` does (``_read_split``), without mteb's Datasets."""
    from medteb.benchmark.data.formats import read_retrieval, read_sts
    from medteb.benchmark.definitions import load_definitions

    definitions = load_definitions()
    for name in TASKS:
        definition = definitions[name]
        for split in definition.metadata["eval_splits"]:
            if definition.type == "STS":
                read_sts(data_dir / name, split, definition.score_range)
            else:
                read_retrieval(data_dir / name, split, reranking=definition.type == "Reranking")


def main() -> None:
    if not (DATA / "cEpilepsyQA").is_dir() or not (DATA / "CHIP-STS").is_dir():
        raise SystemExit(f"needs the real data in {DATA} (cEpilepsyQA, CHIP-STS); not found")
    from medteb.benchmark.data.chip import import_chip_sts
    from medteb.benchmark.data.cmedqa import import_cmedqa_release
    from medteb.benchmark.data.sources import check_run_inputs

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        import_cmedqa_release(DATA / "cEpilepsyQA", data_dir)
        import_chip_sts([DATA / "CHIP-STS/CHIP-STS_train.json",
                         DATA / "CHIP-STS/CHIP-STS_dev.json"], data_dir)
        size = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
        lines = sum(p.read_bytes().count(b"\n") for p in data_dir.rglob("*") if p.is_file())
        print(f"cores: {os.cpu_count()}; data: {size / 2**20:.1f} MiB, {lines:,} lines "
              f"({', '.join(TASKS)}); median of {REPEATS}, interleaved\n")
        check_run_inputs(list(TASKS), data_dir)  # warm the page cache and imports
        once, twice = [], []
        for _ in range(REPEATS):
            start = time.perf_counter()
            check_run_inputs(list(TASKS), data_dir)
            once.append(time.perf_counter() - start)
            start = time.perf_counter()
            check_run_inputs(list(TASKS), data_dir)
            _load_reads(data_dir)
            twice.append(time.perf_counter() - start)
        one, two = statistics.median(once), statistics.median(twice)
        print("| reads | parse+validate (s) |")
        print("|---|---:|")
        print(f"| once (the pre-import check) | {one:.3f} |")
        print(f"| twice (check, then load_data's reads) | {two:.3f} |")
        print(f"\nratio twice/once: {two / one:.2f}x; the second read costs {two - one:.3f} s "
              f"({(two - one) / (size / 2**20):.3f} s per MiB of data)")


if __name__ == "__main__":
    main()

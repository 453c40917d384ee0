"""The caching wrapper's own cost: ``DocumentStore.get_or_encode`` (a ``VectorCache`` around the
encoder) vs the inline loop it replaced (int's get_or_encode, written out with the store's public
``lookup`` / ``shards`` / ``add``), side by side in one run.

Both fill a fresh store (cold: every text encoded by a free encoder, so only caching is timed)
and then read it back (warm: every text stored). Runs alternate (which goes first too), best
of ``--repeats``.

    python benchmarks/vector_cache.py [--texts 50000] [--dim 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from medteb.models.document_store import DocumentStore, EncoderIdentity, EntryKey

IDENTITY = EncoderIdentity("bench/doc", "1", "cls", 512, "float32", 0, 0)
ENTRY = EntryKey("bench", "test", "default", "1")


def inline(store: DocumentStore, texts: list[str], encode) -> np.ndarray:
    """int's get_or_encode, before the wrapper (same files, same counts)."""
    stored, missing = store.lookup(IDENTITY, ENTRY, texts)
    store.stats.reused += len(texts) - len(missing)
    if not missing and stored is not None:
        return stored
    unique = list(dict.fromkeys(texts[i] for i in missing))
    new: dict[str, np.ndarray] = {}
    for chunk in store.shards(unique):
        vectors = np.asarray(encode(chunk), dtype=np.float32)
        store.add(IDENTITY, ENTRY, chunk, vectors)
        new.update(zip(chunk, vectors, strict=True))
        store.stats.encoded += len(chunk)
    dim = len(next(iter(new.values())))
    out = stored if stored is not None else np.zeros((len(texts), dim), dtype=np.float32)
    for i in missing:
        out[i] = new[texts[i]]
    return out


def wrapper(store: DocumentStore, texts: list[str], encode) -> np.ndarray:
    return store.get_or_encode(IDENTITY, ENTRY, texts, encode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = [f"文档 {i} 高血压患者的随访记录" for i in range(args.texts)]
    table = np.random.default_rng(0).standard_normal((args.texts, args.dim)).astype(np.float32)
    rows = {t: i for i, t in enumerate(texts)}

    def encode(chunk: list[str]) -> np.ndarray:  # free: only the caching is timed
        return table[[rows[t] for t in chunk]]

    best = {(name, phase): float("inf") for name in ("inline", "wrapper")
            for phase in ("cold", "warm")}
    outputs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            order = [("inline", inline), ("wrapper", wrapper)]
            for name, fn in order if repeat % 2 == 0 else order[::-1]:
                folder = Path(tmp) / f"{name}-{repeat}"
                start = time.perf_counter()
                fn(DocumentStore(folder), texts, encode)
                best[name, "cold"] = min(best[name, "cold"], time.perf_counter() - start)
                start = time.perf_counter()
                outputs[name] = fn(DocumentStore(folder), texts, None)  # a new process: warm
                best[name, "warm"] = min(best[name, "warm"], time.perf_counter() - start)
                files = sorted(p.name for p in folder.rglob("shard-*"))
                outputs[name + "-files"] = files
                shutil.rmtree(folder)
    assert outputs["inline-files"] == outputs["wrapper-files"], "different shard files"
    np.testing.assert_array_equal(outputs["inline"], outputs["wrapper"])
    print(f"{args.texts} texts x {args.dim} dims, best of {args.repeats}; same shard files and "
          "vectors from both")
    for phase in ("cold", "warm"):
        a, b = best["inline", phase], best["wrapper", phase]
        print(f"{phase}: inline {a:.3f} s, wrapper {b:.3f} s, wrapper/inline {b / a:.3f}x")


if __name__ == "__main__":
    main()

"""How search + metrics scale: MedTEB's exact top-100 vs a bare FAISS IndexFlatIP.

No model: embeddings are given. For each corpus size (default 10k, 100k, 1M random 768-d
float32 vectors, unit length) and 1,000 queries (each a noisy copy of one document, which is its
single relevant document), two runs, each in a fresh subprocess so that its peak memory is its
own:

- faiss: ``IndexFlatIP`` add + search top-100 (the reference: it copies the matrix into the
  index);
- medteb: :func:`medteb.evaluation.search.top_k_inner_product`
  (``faiss.knn`` straight on the matrix, no
  copy) + the result dict mteb evaluates + mteb's metrics (pytrec_eval: nDCG@10, MAP,
  recall@100 ...).

Prints per size: time, peak RSS of the process, the matrix size, and the ratios.

    python benchmarks/scale.py [--sizes 10000 100000 1000000] [--queries 1000] [--dim 768]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_data(size: int, queries: int, dim: int):
    import numpy as np

    rng = np.random.default_rng(0)
    documents = rng.standard_normal((size, dim), dtype=np.float32)
    for start in range(0, size, 65536):  # in place, block by block: no full-size temporary
        block = documents[start: start + 65536]
        block /= np.sqrt(np.einsum("ij,ij->i", block, block))[:, None]
    targets = rng.integers(0, size, queries)
    query_vectors = documents[targets] + 0.05 * rng.standard_normal((queries, dim),
                                                                    dtype=np.float32)
    return documents, query_vectors, targets


def child(mode: str, size: int, queries: int, dim: int) -> None:
    """Run one measurement; print a JSON line with seconds and peak RSS."""
    import faiss

    if mode == "medteb":  # imported before timing: a library cost, not a search cost
        from mteb._evaluators.retrieval_metrics import calculate_retrieval_scores

        from medteb.evaluation.search import top_k_inner_product
    documents, query_vectors, targets = make_data(size, queries, dim)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if mode == "faiss":
        index = faiss.IndexFlatIP(dim)
        index.add(documents)
        index.search(query_vectors, 100)
    else:
        scores, indices = top_k_inner_product(query_vectors, documents, 100)
        results = {f"q{q}": {f"d{i}": float(s) for s, i in zip(row_s, row_i, strict=True)}
                   for q, (row_s, row_i) in enumerate(zip(scores, indices, strict=True))}
        qrels = {f"q{q}": {f"d{t}": 1} for q, t in enumerate(targets)}
        calculate_retrieval_scores(results, qrels, [1, 3, 5, 10, 20, 100])
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_mb": peak / 1024, "data_mb": baseline / 1024}))


def measure(mode: str, size: int, queries: int, dim: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(size), str(queries),
                          str(dim)], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.path.insert(0, str(ROOT))
        child(sys.argv[2], *map(int, sys.argv[3:6]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=768)
    args = parser.parse_args()
    print(f"{args.queries} queries, {args.dim}-d float32, top-100; peak = the process's peak RSS "
          "(data included)")
    print("| corpus | matrix | faiss IndexFlatIP add+search | medteb search+metrics | time "
          "ratio | faiss peak / matrix | medteb peak / matrix |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        matrix_mb = size * args.dim * 4 / 2**20
        faiss_run = measure("faiss", size, args.queries, args.dim)
        ours = measure("medteb", size, args.queries, args.dim)
        print(f"| {size:,} | {matrix_mb:,.0f} MiB | {faiss_run['seconds']:.2f} s, "
              f"{faiss_run['peak_mb']:,.0f} MiB | {ours['seconds']:.2f} s, "
              f"{ours['peak_mb']:,.0f} MiB | {ours['seconds'] / faiss_run['seconds']:.2f}x | "
              f"{faiss_run['peak_mb'] / matrix_mb:.2f}x | {ours['peak_mb'] / matrix_mb:.2f}x |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cold vs warm: an asymmetric pair on MedTEB-Retrieval with and without stored documents.

Builds, in a temp folder, a small BERT query encoder (CLS pooling) and a decoder-only document
encoder (last-token pooling) at least 10x its cost per text, converts cEpilepsyQA (490 queries,
4,900 answers, from ../shared/data) to MedTEB format, then runs ``medteb run`` twice:

1. cold: an empty document store, so every document is encoded;
2. warm: a *different* query encoder with the same document encoder: no document is encoded.

Prints both wall times, their ratio and the documents encoded in each run.

    python benchmarks/asymmetric_store.py [--data ../shared/data/cEpilepsyQA]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import CEPILEPSY, random_bert, random_decoder


def build_models(folder: Path, texts: list[str]) -> tuple[Path, Path, Path]:
    """Two random BERT query encoders (CLS) and one Qwen2 document encoder, all plain folders."""
    queries = [random_bert(folder / f"query-bert-{seed}", texts, hidden=64, layers=1, seed=seed)
               for seed in (0, 1)]
    document = random_decoder(folder / "document-qwen2", texts, hidden=384, layers=4, heads=6)
    return queries[0], queries[1], document


def cost_per_text(path: Path, pooling: str, texts: list[str]) -> float:
    from medteb.models.sides import SideConfig, load_side

    side = load_side(SideConfig(str(path), pooling=pooling), "document")
    side.encode(texts[:8], 8, False, "")  # warm-up
    start = time.perf_counter()
    side.encode(texts, 32, False, "")
    return (time.perf_counter() - start) / len(texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=CEPILEPSY)
    args = parser.parse_args()
    if not (args.data / "answer.csv").is_file():
        print(f"skipped: cEpilepsyQA not found at {args.data} (../shared/data)")
        return 0
    from medteb.benchmark.data.cmedqa import import_cmedqa_release
    from medteb.cli import main as medteb

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        summary = import_cmedqa_release(args.data, work / "data")
        corpus = (work / "data/MedTEB-Retrieval/corpus.jsonl").read_text(encoding="utf-8")
        import json

        docs = [json.loads(line)["text"] for line in corpus.splitlines()]
        query_a, query_b, document = build_models(work / "models", docs)
        probe = docs[:256]
        q_cost, d_cost = cost_per_text(query_a, "cls", probe), cost_per_text(document,
                                                                             "last-token", probe)
        print(f"data: {summary.queries} queries, {summary.documents} documents (cEpilepsyQA)")
        print(f"cost per document text: query encoder {1000 * q_cost:.2f} ms, document encoder "
              f"{1000 * d_cost:.2f} ms ({d_cost / q_cost:.1f}x)")
        common = ["run", "-t", "MedTEB-Retrieval", "--data-dir", str(work / "data"),
                  "--document-model", str(document), "--document-pooling", "last-token",
                  "--query-pooling", "cls",
                  "--truncate-dim", "64", "--document-store", str(work / "store"),
                  "--output-folder", str(work / "results"), "-v", "0"]
        timings = []
        for label, query in (("cold", query_a), ("warm", query_b)):
            start = time.perf_counter()
            import contextlib
            import io

            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                status = medteb([*common, "--query-model", str(query)])
            elapsed = time.perf_counter() - start
            note = next(line for line in out.getvalue().splitlines()
                        if line.startswith("Documents:"))
            timings.append(elapsed)
            print(f"{label}: {elapsed:7.1f} s  exit {status}  {note}")
        print(f"cold / warm time ratio: {timings[0] / timings[1]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Query encoding through MedTEB's wrappers vs the raw model on the same inputs.

A random BERT (2 layers, hidden 128; small, so that any wrapper overhead shows) saved both as a
plain transformers folder and as a sentence-transformers folder (CLS pooling). Queries: the
MedTEB-Retrieval queries of cEpilepsyQA (../shared/data) or, without it, the bundled sample's,
cycled to ``--queries``. Each pair is timed interleaved, best of ``--repeats``:

1. ``PooledSide`` (cls) vs a raw transformers forward (tokenize, forward, take token 0);
2. ``ModelSide (as -m)`` vs raw ``SentenceTransformer.encode``;
3. the whole ``AsymmetricEncoder.encode`` path (mteb dataloader, instruction template off,
   truncation + normalisation) vs raw ``SentenceTransformer.encode``.

    python benchmarks/wrapper.py [--queries 2000] [--batch-size 32] [--repeats 5]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

from common import CEPILEPSY, ROOT, random_bert


def load_queries(count: int) -> tuple[list[str], str]:
    source = CEPILEPSY / "question.csv"
    if source.is_file():
        with source.open(encoding="utf-8", newline="") as handle:
            texts = [row["content"] for row in csv.DictReader(handle)]
        label = "cEpilepsyQA questions"
    else:
        sample = ROOT / "tasks/MedTEB-Retrieval/sample/queries.jsonl"
        texts = [json.loads(line)["text"] for line in sample.read_text("utf-8").splitlines()]
        label = "bundled sample queries"
    return [texts[i % len(texts)] for i in range(count)], label


def best_of(repeats: int, **calls) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import torch
    from mteb._create_dataloaders import _create_dataloader_from_texts
    from mteb.types import PromptType
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    from medteb.benchmark.tasks import get_task
    from medteb.models.asymmetric import AsymmetricSpec
    from medteb.models.sides import EncodeContext, SideConfig, load_side

    queries, label = load_queries(args.queries)
    bs = args.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        st_dir = random_bert(Path(tmp), queries, hidden=128, layers=2, max_seq_length=512)
        raw_dir = Path(tmp) / "raw"
        tokenizer = AutoTokenizer.from_pretrained(raw_dir)
        model = AutoModel.from_pretrained(raw_dir).eval()
        st = SentenceTransformer(str(st_dir), device="cpu")
        pooled = load_side(SideConfig(str(raw_dir), pooling="cls"), "query")
        st_side = load_side(SideConfig(str(st_dir)), "query")
        pair = AsymmetricSpec(query=SideConfig(str(st_dir)), document=SideConfig(str(st_dir)),
                              query_template="{text}", use_store=False).load()
        metadata = get_task("MedTEB-Retrieval").metadata
        context = EncodeContext(metadata, "test", "default", PromptType.query)
        order = sorted(range(len(queries)), key=lambda i: -len(queries[i]))  # as both sort

        def raw_forward() -> None:
            with torch.inference_mode():
                for start in range(0, len(order), bs):
                    batch = tokenizer([queries[i] for i in order[start: start + bs]],
                                      truncation=True, max_length=512, padding=True,
                                      return_tensors="pt")
                    model(**batch).last_hidden_state[:, 0].numpy()

        def raw_st() -> None:
            st.encode(queries, batch_size=bs, show_progress_bar=False)

        def wrapped_pair() -> None:
            pair.encode(_create_dataloader_from_texts(queries, batch_size=bs),
                        task_metadata=metadata, hf_split="test", hf_subset="default",
                        prompt_type=PromptType.query, batch_size=bs, show_progress_bar=False)

        raw_st(), wrapped_pair(), raw_forward()  # warm-up
        results = best_of(
            args.repeats, raw_forward=raw_forward,
            pooled_side=lambda: pooled.encode(queries, bs, False, ""), raw_st=raw_st,
            st_side=lambda: st_side.encode(queries, bs, False, "", context), pair=wrapped_pair)
    print(f"{args.queries} {label}, batch {bs}, best of {args.repeats}, "
          f"{torch.get_num_threads()} torch threads")
    for name, seconds in results.items():
        print(f"{name:<12}: {seconds:6.3f} s")
    print(f"PooledSide (cls) / raw transformers forward : "
          f"{results['pooled_side'] / results['raw_forward']:.3f}x")
    print(f"ModelSide (as -m) / raw ST encode           : "
          f"{results['st_side'] / results['raw_st']:.3f}x")
    print(f"AsymmetricEncoder.encode / raw ST encode    : "
          f"{results['pair'] / results['raw_st']:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What MedTEB adds to an evaluation: `medteb run` vs plain `mteb.evaluate` vs raw encoding.

Same model (a random 1-layer BERT, hidden 128, CLS pooling, as a sentence-transformers folder),
same data (cEpilepsyQA from ../shared/data imported as MedTEB-Retrieval: 490 queries, 4,900
documents), measured side by side in one process after a warm-up:

- raw: ``SentenceTransformer.encode`` of the 490 queries and the 4,900 documents;
- plain mteb: ``mteb.evaluate`` of the model on an equivalent in-memory mteb retrieval task
  (mteb's own ``AbsTaskRetrieval``, the same rows, no MedTEB code);
- medteb: ``medteb.evaluation.runner.run``
  (reads and validates the data folder, evaluates through mteb with
  MedTEB's lean search, writes the result file).

Prints each time (best of ``--repeats``), the ratios and both main scores.

    python benchmarks/overhead.py [--data ../shared/data/cEpilepsyQA] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import CEPILEPSY, random_bert


def plain_task(data_dir: Path):
    """mteb's own AbsTaskRetrieval holding the same rows in memory (no MedTEB code)."""
    from datasets import Dataset
    from mteb.abstasks import AbsTaskRetrieval
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData

    from medteb.benchmark.data.formats import read_retrieval
    from medteb.benchmark.tasks import get_task

    data = read_retrieval(data_dir / "MedTEB-Retrieval", "test", reranking=False)
    metadata = get_task("MedTEB-Retrieval").metadata.model_copy(
        update={"name": "PlainRetrieval"}, deep=True)

    class PlainRetrieval(AbsTaskRetrieval):
        def load_data(self, **kwargs) -> None:
            self.dataset = {"default": {"test": RetrievalSplitData(
                corpus=Dataset.from_list(data.corpus), queries=Dataset.from_list(data.queries),
                relevant_docs=data.relevant_docs, top_ranked=None)}}
            self.data_loaded = True

    PlainRetrieval.metadata = metadata
    return PlainRetrieval, data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=CEPILEPSY)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not (args.data / "answer.csv").is_file():
        print(f"skipped: cEpilepsyQA not found at {args.data} (../shared/data)")
        return 0
    import mteb

    from medteb.benchmark.data.cmedqa import import_cmedqa_release
    from medteb.evaluation.runner import RunConfig, run
    from medteb.models import load_model
    from medteb.results.layout import ResultsFolder

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        import_cmedqa_release(args.data, work / "data")
        task_class, data = plain_task(work / "data")
        queries = [q["text"] for q in data.queries]
        documents = [f"{d['title']} {d['text']}".strip() for d in data.corpus]
        model = load_model(str(random_bert(work / "model", documents, hidden=128, layers=1,
                                            max_seq_length=256)))
        st = model.model
        st.encode(queries[:64])  # warm-up

        def raw() -> tuple[float, None]:
            start = time.perf_counter()
            st.encode_query(queries, batch_size=32)
            st.encode_document(documents, batch_size=32)
            return time.perf_counter() - start, None

        def plain(i: int) -> tuple[float, float]:
            task = task_class()
            task.load_data()
            start = time.perf_counter()
            result = mteb.evaluate(model, task, cache=ResultsFolder(work / f"plain-{i}"),
                                   show_progress_bar=False)
            return time.perf_counter() - start, result.task_results[0].get_score()

        def medteb(i: int) -> tuple[float, float]:
            start = time.perf_counter()
            report = run(RunConfig(model=model, tasks=["MedTEB-Retrieval"],
                                   data_dir=work / "data", output_folder=work / f"medteb-{i}",
                                   show_progress=False), on_progress=lambda _: None)
            return time.perf_counter() - start, report.outcomes[0].score

        times: dict[str, list[float]] = {"raw": [], "plain": [], "medteb": []}
        scores = {}
        for i in range(args.repeats):  # interleaved, so drift hits all three alike
            times["raw"].append(raw()[0])
            elapsed, scores["plain"] = plain(i)
            times["plain"].append(elapsed)
            elapsed, scores["medteb"] = medteb(i)
            times["medteb"].append(elapsed)
        best = {k: min(v) for k, v in times.items()}
        print(f"cEpilepsyQA retrieval: {len(queries)} queries, {len(documents)} documents "
              f"({len(set(documents))} distinct); best of {args.repeats}")
        print(f"raw encode (ST)     : {best['raw']:6.2f} s")
        print(f"plain mteb.evaluate : {best['plain']:6.2f} s  nDCG@10 {scores['plain']:.5f}")
        print(f"medteb run          : {best['medteb']:6.2f} s  nDCG@10 {scores['medteb']:.5f}")
        print(f"medteb / plain mteb : {best['medteb'] / best['plain']:.2f}x")
        print(f"plain mteb / raw    : {best['plain'] / best['raw']:.2f}x")
        print(f"medteb / raw        : {best['medteb'] / best['raw']:.2f}x")
        print(f"scores identical    : {scores['plain'] == scores['medteb']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

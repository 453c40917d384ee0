"""Benchmark `medteb contamination`: 1M training lines (~100 MB) against paper-sized test sets.

Test side (paper Table 1 sizes, real public Chinese medical text from ../shared/data):
MedTEB-Retrieval 734 queries (cEpilepsyQA questions) over a 12,544-document corpus (the 4,900
cEpilepsyQA answers and 7,644 answers of Chinese-medical-dialogue-sample); MedTEB-Rerank 1,128
queries with 20 candidates each; MedTEB-STS 5,000 CHIP-STS pairs. Training side: JSONL lines
of ~30 characters cut at random from the dialogue questions and answers (the same domain, the
worst case for candidate generation), with planted copies of test queries: exact, one
character changed, and inside a longer line. Prints time, lines/s, the planted copies found,
and the scan on 1 vs 2 Ray workers, measured side by side in one run.

    python benchmarks/contamination.py [--lines 1000000] [--ray-lines 200000]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = next((p for p in (ROOT.parent / "shared/data", Path("/work/shared/data"))
             if p.is_dir()), None)
PLANTED = 200  # of each kind


def _jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def build_test_dir(root: Path) -> tuple[list[str], list[str]]:
    """Write the three task folders; return the queries and the dialogue texts."""
    with (DATA / "cEpilepsyQA/question.csv").open(encoding="utf-8") as h:
        questions = [(r["question_id"], r["content"]) for r in csv.DictReader(h)]
    with (DATA / "cEpilepsyQA/answer.csv").open(encoding="utf-8") as h:
        answers = [(r["ans_id"], r["question_id"], r["content"]) for r in csv.DictReader(h)]
    with (DATA / "Chinese-medical-dialogue-sample/样例_内科5000-6000.csv").open(
            encoding="gb18030") as h:
        dialogue = list(csv.DictReader(h))
    answer_of = {q: a for a, q, _ in answers}
    corpus = [{"_id": f"a{a}", "text": t} for a, _, t in answers if t.strip()]
    corpus += [{"_id": f"m{i}", "text": r["answer"]} for i, r in enumerate(dialogue)
               if r["answer"].strip()]
    known = {c["_id"] for c in corpus}
    retrieval = [(q, t) for q, t in questions if f"a{answer_of.get(q)}" in known][:734]
    rerank = [(q, t) for q, t in questions if f"a{answer_of.get(q)}" in known][734:734 + 1128]
    rng = random.Random(0)
    for task, chosen in (("MedTEB-Retrieval", retrieval), ("MedTEB-Rerank", rerank)):
        folder = root / task
        _jsonl(folder / "queries.jsonl", [{"_id": q, "text": t} for q, t in chosen])
        qrels = ["query-id\tcorpus-id\tscore"] + [f"{q}\ta{answer_of[q]}\t1" for q, _ in chosen]
        if task == "MedTEB-Rerank":
            top = {q: [f"a{answer_of[q]}"] + [c["_id"] for c in rng.sample(corpus, 19)]
                   for q, _ in chosen}
            _jsonl(folder / "top_ranked/test.jsonl",
                   [{"query-id": q, "corpus-ids": list(dict.fromkeys(ids))}
                    for q, ids in top.items()])
            used = {d for ids in top.values() for d in ids}
            _jsonl(folder / "corpus.jsonl", [c for c in corpus if c["_id"] in used])
        else:
            _jsonl(folder / "corpus.jsonl", corpus)
        (folder / "qrels").mkdir(parents=True, exist_ok=True)
        (folder / "qrels/test.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    sts = json.loads((DATA / "CHIP-STS/CHIP-STS_train.json").read_text(encoding="utf-8"))[:5000]
    _jsonl(root / "MedTEB-STS/sts/test.jsonl", [
        {"sentence1": r["text1"], "sentence2": r["text2"], "score": int(r["label"])}
        for r in sts])
    texts = [r["ask"] for r in dialogue] + [r["answer"] for r in dialogue]
    return [t for _, t in retrieval], [t for t in texts if len(t) > 40]


def _edit(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text))
    return text[:i] + "癣" + text[i + 1:]


def build_training(path: Path, lines: int, queries: list[str],
                   texts: list[str]) -> dict[str, set[str]]:
    """Write ``lines`` JSONL lines; return the planted queries by how they were planted."""
    rng = random.Random(1)
    long_queries = [q for q in queries if len(q) >= 10]
    chosen = rng.sample(sorted(set(long_queries)), 3 * PLANTED)  # each query planted once
    exact, edited, inside = (chosen[i * PLANTED:(i + 1) * PLANTED] for i in range(3))
    planted = [q for q in exact] + [_edit(q, rng) for q in edited] + [
        "网友：" + q + "谢谢医生的回答" for q in inside]
    slots = set(rng.sample(range(lines), len(planted)))
    plant = iter(planted)
    with path.open("w", encoding="utf-8") as handle:
        for number in range(lines):
            if number in slots:
                line = next(plant)
            else:
                text = rng.choice(texts)
                start = rng.randrange(len(text) - 30)
                line = text[start:start + 30]
            handle.write(json.dumps({"text": line}, ensure_ascii=False) + "\n")
    return {"exact": set(exact), "one character changed": set(edited),
            "inside a longer line": set(inside)}


def recall(index, report, planted: dict[str, set[str]]) -> str:
    """How many planted queries of each kind the report finds (exact or near, as planted)."""
    from medteb.contamination.normalise import normalise

    found = report.found["MedTEB-Retrieval"]["queries"]
    texts = {it.id: it.text for it in index.items
             if it.task == "MedTEB-Retrieval" and it.kind == "queries"}
    exact = {texts[i] for i in found["exact"]}
    near = {texts[i] for i in found["near"]}
    settings = index.settings
    parts = []
    for kind, queries in planted.items():
        hits = queries & (exact if kind == "exact" else exact | near)  # exact: a twin text
        length = {q: len(normalise(q)) for q in queries}
        if kind == "exact":
            eligible = queries
        elif kind == "inside a longer line":
            eligible = {q for q in queries if length[q] >= settings.min_near_chars}
        else:  # the thresholds allow an edit
            eligible = {q for q in queries if length[q] >= settings.min_near_chars
                        and settings.edits_for(length[q]) >= 1}
        parts.append(f"{kind} {len(hits)}/{len(queries)} (of those the thresholds admit: "
                     f"{len(hits & eligible)}/{len(eligible)})")
    return "planted queries found: " + "; ".join(parts)


def _spin(_: int) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(20_000_000):
        total += i
    return time.perf_counter() - start


def parallel_capacity() -> float:
    """How many cores this process gets now: 2 CPU-bound processes' throughput over one's."""
    from multiprocessing import Pool

    times = {}
    for n in (1, 2):
        start = time.perf_counter()
        with Pool(n) as pool:
            pool.map(_spin, range(n))
        times[n] = time.perf_counter() - start
    return 2 * times[1] / times[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--ray-lines", type=int, default=200_000)
    args = parser.parse_args()
    if DATA is None:
        sys.exit("skipped: ../shared/data (real public medical data) is absent")
    from medteb.contamination.audit import RaySpec, run_audit
    from medteb.contamination.index import MatchSettings, index_from_tasks
    from medteb.contamination.testdata import load_test_tasks
    from medteb.contamination.training import make_shards, training_files

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        queries, texts = build_test_dir(root / "data")
        start = time.perf_counter()
        index = index_from_tasks(load_test_tasks(root / "data"), MatchSettings())
        print(f"test side: {len(index.items):,} texts indexed in "
              f"{time.perf_counter() - start:.1f} s")
        for name, lines in (("full", args.lines), ("ray", args.ray_lines)):
            train = root / f"{name}.jsonl"
            planted = build_training(train, lines, queries, texts)
            size = train.stat().st_size / 1e6
            shards = make_shards(training_files([str(train)]))
            if name == "full":
                start = time.perf_counter()
                report = run_audit(index, shards, progress=False)
                took = time.perf_counter() - start
                task = report.found["MedTEB-Retrieval"]["queries"]
                print(f"one process: {lines:,} lines ({size:.0f} MB) in {took:.1f} s "
                      f"({lines / took:,.0f} lines/s); Retrieval queries found: "
                      f"{len(task['exact'])} exact + {len(task['near'])} near")
                print(recall(index, report, planted))
                continue
            print(f"cores available now (2 spinning processes vs 1): {parallel_capacity():.2f}"
                  " — the ceiling of any 1 -> 2 worker speed-up on this machine at this moment")
            import ray

            start = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
            print(f"Ray started in {time.perf_counter() - start:.1f} s (not in the times below)")
            start = time.perf_counter()
            local = run_audit(index, shards, progress=False)
            times = {0: time.perf_counter() - start}
            print(f"one process, same file: {lines:,} lines ({size:.0f} MB) in {times[0]:.1f} s")
            for workers in (1, 2):
                start = time.perf_counter()
                report = run_audit(index, shards, ray=RaySpec(workers=workers), progress=False)
                times[workers] = time.perf_counter() - start
                same = "same report" if report.to_dict() == local.to_dict() else "REPORT DIFFERS"
                print(f"ray, {workers} worker(s): {lines:,} lines in {times[workers]:.1f} s "
                      f"(actors and the index sent included; {same})")
            ray.shutdown()
            print(f"ray 1 -> 2 workers speed-up: {times[1] / times[2]:.2f}x; "
                  f"one process / ray 2 workers: {times[0] / times[2]:.2f}x")


if __name__ == "__main__":
    main()

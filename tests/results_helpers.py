"""Write result folders in MedTEB's results/ layout for tests (mteb TaskResult + records)."""

from __future__ import annotations

import json
from pathlib import Path

from medteb.benchmark.definitions import BENCHMARK_ORDER, NEW_TASKS
from medteb.results.layout import PROVENANCE_KEY, SPEED_FILE, SUBMISSION_FILE, Submission

MAIN_SCORES = {"CMedQAv1-reranking": "map_at_1000", "CMedQAv2-reranking": "map_at_1000",
               "MedTEB-Retrieval": "ndcg_at_10", "MedTEB-Rerank": "map_at_1000",
               "MedTEB-STS": "cosine_pearson"}


def task_result(task: str, score: float, revision: str = "unreleased") -> dict:
    return {
        "dataset_revision": revision, "task_name": task, "mteb_version": "2.26.24",
        "scores": {"test": [{"main_score": score, MAIN_SCORES[task]: score,
                             "hf_subset": "default", "languages": ["cmn-Hans"]}]},
        "evaluation_time": 1.0, "kg_co2_emissions": None,
    }


def write_entry(root: Path, name: str, revision: str, scores: dict[str, float | None], *,
                setting: str = "zero-shot", display: str | None = None,
                params: tuple[int | None, int | None] = (100_000_000, 100_000_000),
                source: str = "fixture, Table X", provenance: str = "reported",
                speed: dict | None = None, verified: bool = False,
                data_revision: str = "unreleased") -> Path:
    """One model revision; ``scores`` are 0–1 per task (None or absent: no result file);
    ``data_revision``: the MedTEB tasks' dataset revision (``release-V-<hash>``: on release V)."""
    folder = root / name.replace("/", "__") / revision
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"name": name, "revision": revision, "n_parameters": params[0],
            "training_datasets": [], "languages": ["cmn-Hans"]}
    (folder / "model_meta.json").write_text(json.dumps(meta, indent=4) + "\n")
    for task in BENCHMARK_ORDER:
        if scores.get(task) is not None:
            data = task_result(task, scores[task],
                               data_revision if task in NEW_TASKS else "unreleased")
            data[PROVENANCE_KEY] = source
            (folder / f"{task}.json").write_text(json.dumps(data, indent=2) + "\n")
    record = Submission(setting=setting, display_name=display or name.split("/")[-1],
                        provenance=provenance, source=source, n_parameters_query=params[0],
                        n_parameters_document=params[1], verified=verified)
    (folder / SUBMISSION_FILE).write_text(record.to_yaml())
    if speed is not None:
        (folder / SPEED_FILE).write_text(json.dumps({
            "task_name": "MedTEB-Speed", "dataset_revision": "speed-fixture",
            "mteb_version": "2.26.24", "evaluation_time": 3.0,
            "scores": {"test": [{"main_score": speed["qps"], "hf_subset": "default",
                                 "languages": ["cmn-Hans"], **speed}]},
        }, indent=2) + "\n")
    return folder


def write_per_query(folder: Path, scores: dict[str, float], seed: int, n: int = 60) -> None:
    """Synthetic ``<Task>.per_query.jsonl`` files whose scores are exactly ``scores``: ranking
    tasks' ``n`` values average to the score, STS's ``n`` similarities correlate with the
    (task's own, shared) gold scores by the score."""
    import zlib

    import numpy as np

    from medteb.analysis.perquery import SUFFIX, PerQuery

    meta = json.loads((folder / "model_meta.json").read_text())
    rng = np.random.default_rng(seed)
    for task, score in scores.items():
        common = {"task": task, "metric": MAIN_SCORES[task], "data_revision": "unreleased",
                  "model": meta["name"], "model_revision": meta["revision"],
                  "ids": tuple(f"q{i:03d}" for i in range(n))}
        noise = rng.uniform(size=n)
        noise -= noise.mean()
        if task != "MedTEB-STS":
            spread = 0.99 * min(score, 1 - score) / np.abs(noise).max()
            per_query = PerQuery(**common, values=score + spread * noise)
        else:
            gold = np.random.default_rng(zlib.crc32(task.encode())).uniform(size=n)
            g = (gold - gold.mean()) / np.linalg.norm(gold - gold.mean())
            e = noise - (noise @ g) * g
            e /= np.linalg.norm(e)
            similarity = 0.5 + 0.1 * (score * g + np.sqrt(1 - score**2) * e)
            per_query = PerQuery(**{**common, "ids": tuple(str(i) for i in range(n))},
                                 values=similarity, gold=gold)
        (folder / f"{task}{SUFFIX}").write_text(per_query.to_json())


def five(v1: float, v2: float, retrieval: float, rerank: float, sts: float) -> dict[str, float]:
    return dict(zip(BENCHMARK_ORDER, (v1, v2, retrieval, rerank, sts), strict=True))


def build_fixture(root: Path) -> None:
    """The fixture results/ of the golden leaderboard test (tests/fixtures/results)."""
    alpha = write_entry(root, "org-a/alpha", "r1", five(0.80, 0.82, 0.50, 0.60, 0.70),
                        params=(24_000_000, 24_000_000),
                        speed={"qps": 1520.25, "batch_size": 32,
                               "hardware": "1x NVIDIA A100 80GB"})
    write_per_query(alpha, five(0.80, 0.82, 0.50, 0.60, 0.70), seed=1)
    write_entry(root, "org-b/beta", "r1", five(0.85, 0.84, 0.40, 0.55, 0.75),
                params=(326_000_000, 326_000_000))
    write_entry(root, "org-c/gamma", "r2", five(0.90, 0.86, 0.45, 0.60, 0.60),
                params=(1_780_000_000, 1_780_000_000),
                speed={"qps": 210.0, "batch_size": 32, "hardware": "1x NVIDIA A100 80GB"})
    delta = write_entry(root, "org-d/delta", "r1", five(0.78, 0.80, 0.52, 0.62, 0.72),
                        params=(568_000_000, 568_000_000), source="fixture, Table Y")
    write_per_query(delta, five(0.78, 0.80, 0.52, 0.62, 0.72), seed=4)
    write_entry(root, "org-e/epsilon", "r1",
                {"CMedQAv1-reranking": 0.9, "CMedQAv2-reranking": 0.9, "MedTEB-Retrieval": 0.6},
                display="epsilon <b>|x</b>")
    zeta = write_entry(root, "org-f/zeta-ft", "r1", five(0.86, 0.87, 0.56, 0.73, 0.88),
                       setting="fine-tuned", display="zeta†",
                       params=(305_000_000, 4_020_000_000))
    write_per_query(zeta, five(0.86, 0.87, 0.56, 0.73, 0.88), seed=6)
    eta = write_entry(root, "org-g/eta-ft", "r1", five(0.80, 0.81, 0.44, 0.62, 0.70),
                      setting="fine-tuned", params=(None, None))
    write_per_query(eta, five(0.80, 0.81, 0.44, 0.62, 0.70), seed=7)
    write_entry(root, "local/smoke", "abc123", {"MedTEB-Retrieval": 0.79, "MedTEB-Rerank": 0.87,
                                                "MedTEB-STS": -0.05},
                setting="sample", provenance="reproduced", params=(111_840, 111_840),
                source="reproduced with `medteb run`")


if __name__ == "__main__":  # python -m tests.results_helpers: rebuild tests/fixtures/results
    import shutil

    target = Path(__file__).parent / "fixtures" / "results"
    shutil.rmtree(target, ignore_errors=True)
    build_fixture(target)

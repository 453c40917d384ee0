"""Task definitions, data-source resolution, and registration through mteb's own functions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from medteb.benchmark.data.sources import resolve_source
from medteb.benchmark.definitions import BENCHMARK_ORDER, load_definition, load_definitions
from medteb.errors import DataUnavailableError, TaskDefinitionError, UnknownTaskError
from tests.conftest import ROOT

PROMPTS = {  # the paper's Table 8
    "MedTEB-Retrieval": "Given a Chinese medical question, retrieve medical documents that "
                        "answer the question.",
    "MedTEB-Rerank": "Based on a Chinese medical question, evaluate and rank the medical "
                     "information that provide answers to the question.",
    "MedTEB-STS": "Retrieve semantically similar text.",
}


def test_definitions_in_benchmark_order() -> None:
    definitions = load_definitions()
    assert tuple(definitions) == BENCHMARK_ORDER
    assert [d.kind for d in definitions.values()] == ["mteb", "mteb", "medteb", "medteb", "medteb"]


def test_metadata_validated_by_mteb_with_table8_prompts() -> None:
    import mteb

    expected = {"MedTEB-Retrieval": ("Retrieval", "ndcg_at_10"),
                "MedTEB-Rerank": ("Reranking", "map_at_1000"),
                "MedTEB-STS": ("STS", "cosine_pearson")}
    for name, (kind, score) in expected.items():
        metadata = mteb.get_task(name).metadata
        assert (metadata.type, metadata.main_score, metadata.prompt) == (kind, score, PROMPTS[name])
        assert metadata.bibtex_citation and "ICLR 2026" in metadata.bibtex_citation
    sts = mteb.get_task("MedTEB-STS")
    assert (sts.min_score, sts.max_score) == (0, 1)


def test_cmedqa_tasks_are_mtebs_own_unchanged() -> None:
    import mteb
    from mteb.tasks.reranking.zho.cmteb_reranking import CMedQAv1, CMedQAv2

    assert type(mteb.get_task("CMedQAv1-reranking")) is CMedQAv1
    assert mteb.get_task("CMedQAv2-reranking").metadata == CMedQAv2.metadata
    assert CMedQAv1.metadata.dataset == {"path": "mteb/CMedQAv1-reranking",
                                         "revision": "f77f0345c9b6ac0a2447a3a71483d5b27393cb35"}


def write_definition(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "task.yaml").write_text(text, encoding="utf-8")
    return folder


def test_bad_definitions(tmp_path: Path) -> None:
    with pytest.raises(TaskDefinitionError, match="task.yaml: cannot read task definition"):
        load_definition(tmp_path / "Missing")
    folder = write_definition(tmp_path / "A", "- a list\n")
    with pytest.raises(TaskDefinitionError, match="expected a mapping at the top level"):
        load_definition(folder)
    folder = write_definition(tmp_path / "B", "kind: other\nmetadata: {name: B}\n")
    with pytest.raises(TaskDefinitionError, match=r"kind: Input should be 'medteb' or 'mteb'; "
                                                  r"paper: Field required"):
        load_definition(folder)
    text = "kind: mteb\nmetadata: {name: X}\npaper: {test: 1, main_metric: MAP}\n"
    with pytest.raises(TaskDefinitionError, match="metadata.name 'X' must equal the folder name 'C'"):
        load_definition(write_definition(tmp_path / "C", text))


def test_mteb_rejects_invalid_metadata(tmp_path: Path) -> None:
    from medteb.benchmark.tasks import _build_task_class

    text = ("kind: medteb\nmetadata: {name: D, description: d, type: Retreival, eval_langs: [cmn-Hans],"
            " main_score: ndcg_at_10}\npaper: {test: 1, main_metric: x}\n")
    with pytest.raises(TaskDefinitionError, match="D/task.yaml: .*Retreival"):
        _build_task_class(load_definition(write_definition(tmp_path / "D", text)))


def test_resolve_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    definition = load_definitions()["MedTEB-Retrieval"]
    sample = resolve_source(definition, "sample")
    assert (sample.kind, sample.location) == ("sample", str(ROOT / "tasks/MedTEB-Retrieval/sample"))
    (tmp_path / "MedTEB-Retrieval").mkdir()
    assert resolve_source(definition, tmp_path).kind == "local"
    monkeypatch.setenv("MEDTEB_DATA_DIR", str(tmp_path))
    assert resolve_source(definition, None).location == str(tmp_path / "MedTEB-Retrieval")


def test_no_source_says_so_plainly() -> None:
    definition = load_definitions()["MedTEB-Rerank"]
    with pytest.raises(DataUnavailableError, match=(
        r"MedTEB-Rerank: the official MedTEB test data has not been published yet.*--data-dir "
        r"\(or MEDTEB_DATA_DIR\).*docs/data_format.md.*--data-dir sample")):
        resolve_source(definition, None)


def test_data_dir_errors(tmp_path: Path) -> None:
    definition = load_definitions()["MedTEB-STS"]
    with pytest.raises(DataUnavailableError, match="data directory .*nope' does not exist"):
        resolve_source(definition, tmp_path / "nope")
    with pytest.raises(DataUnavailableError, match="MedTEB-STS: no folder .*MedTEB-STS'; a data "
                                                   "directory holds one folder per task"):
        resolve_source(definition, tmp_path)


def test_hub_release_is_used_when_configured(tmp_path: Path) -> None:
    from medteb.benchmark.definitions import SourceSpec

    definition = load_definitions()["MedTEB-STS"]
    definition = definition.model_copy(update={"source": SourceSpec(
        huggingface={"path": "org/medteb-sts", "revision": "0123456789abcdef"})})
    source = resolve_source(definition, None)
    assert (source.kind, source.location, source.revision) == (
        "huggingface", "org/medteb-sts", "0123456789abcdef")


def test_registration_through_mteb_functions() -> None:
    import mteb

    import medteb  # noqa: F401

    assert mteb.get_task("MedTEB-Retrieval").metadata.name == "MedTEB-Retrieval"
    names = [t.metadata.name for t in mteb.get_tasks(tasks=["MedTEB-STS", "MedTEB-Rerank"])]
    assert names == ["MedTEB-STS", "MedTEB-Rerank"]
    assert "MedTEB-Retrieval" in [t.metadata.name for t in mteb.get_tasks(domains=["Medical"])]
    benchmark = mteb.get_benchmark("MedTEB")
    assert [t.metadata.name for t in benchmark.tasks] == list(BENCHMARK_ORDER)


def test_unknown_task_suggests() -> None:
    from medteb.benchmark.tasks import get_task

    with pytest.raises(UnknownTaskError, match="unknown task 'MedTEB-Retreival'. Did you mean "
                                               "'MedTEB-Retrieval'?"):
        get_task("MedTEB-Retreival")


@pytest.mark.parametrize("order", ["medteb first", "mteb first"])
def test_import_is_light_and_registers_in_either_order(order: str) -> None:
    first, second = ("medteb", "mteb") if order == "medteb first" else ("mteb", "medteb")
    code = (
        "import sys\n"
        "import medteb\n" if first == "medteb" else "import sys\nimport mteb\n"
    ) + (
        "assert 'torch' not in sys.modules and 'mteb' not in sys.modules\n"
        if first == "medteb" else ""
    ) + f"import {second}\nimport mteb\nprint(mteb.get_task('MedTEB-STS').metadata.main_score)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "cosine_pearson"


def test_benchmark_scores_through_mteb_aggregation() -> None:
    """mteb's own Benchmark.get_score yields the paper's three aggregates for MedTEB."""
    import mteb
    from mteb.results import BenchmarkResults, ModelResult, TaskResult

    benchmark = mteb.get_benchmark("MedTEB")
    main = {"CMedQAv1-reranking": 0.80, "CMedQAv2-reranking": 0.90, "MedTEB-Retrieval": 0.40,
            "MedTEB-Rerank": 0.60, "MedTEB-STS": 0.50}
    results = [
        TaskResult.from_task_results(
            task, {"test": {"default": {"main_score": main[task.metadata.name],
                                        task.metadata.main_score: main[task.metadata.name],
                                        "hf_subset": "default", "languages": ["cmn-Hans"]}}},
            evaluation_time=1.0)
        for task in benchmark.tasks
    ]
    model = ModelResult(model_name="test/model", model_revision="1", task_results=results)
    scores = benchmark.get_score(BenchmarkResults(model_results=[model]), raise_error=True)
    got = scores["test/model"]
    assert got["Mean(Task)"] == pytest.approx((0.8 + 0.9 + 0.4 + 0.6 + 0.5) / 5)
    assert got["MedTEB::CMedQA avg"] == pytest.approx(0.85)
    assert got["MedTEB::New-task avg"] == pytest.approx(0.5)
    assert results[2].task.metadata.name == "MedTEB-Retrieval"  # TaskResult.task resolves

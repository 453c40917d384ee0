"""medteb export hf-dataset / mteb: the Hub layout mteb loads, and an mteb pull request whose
task classes score exactly like MedTEB's own tasks."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from medteb.benchmark.citation import BENCHMARK_CITATION, CMEDTEB_BIBTEX, normalise_bibtex
from medteb.export.hf_dataset import ExportError, export_hf_dataset
from medteb.export.mteb_pr import add_to_init, export_mteb, resolve_datasets
from tests.conftest import SAMPLE_TASKS

SHA = "0123456789abcdef0123456789abcdef01234567"
TASKS = {  # task -> (mteb tasks folder, generated module, class)
    "MedTEB-Retrieval": ("retrieval", "cmedteb_retrieval", "MedTEBRetrieval"),
    "MedTEB-Rerank": ("reranking", "cmedteb_reranking", "MedTEBRerank"),
    "MedTEB-STS": ("sts", "cmedteb_sts", "MedTEBSTS"),
}
PUBLISHED = [f"--dataset-repo={t}=medteb/{t}" for t in TASKS] + [
    f"--dataset-revision={t}={SHA}" for t in TASKS]


@pytest.fixture
def datasets_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``datasets`` cache of this test's own: nothing another run loaded can answer."""
    import datasets

    cache = tmp_path / "datasets-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def _other_sts_data(folder: Path) -> Path:
    """A data folder whose MedTEB-STS differs from the sample: its first 20 pairs, scores flipped
    end for end (so that any model scores it differently)."""
    rows = [json.loads(line) for line in (SAMPLE_TASKS / "MedTEB-STS" / "sample" / "sts" /
                                          "test.jsonl").read_text("utf-8").splitlines()][:20]
    low, high = min(r["score"] for r in rows), max(r["score"] for r in rows)
    target = folder / "MedTEB-STS" / "sts" / "test.jsonl"
    target.parent.mkdir(parents=True)
    target.write_text("".join(json.dumps({**r, "score": low + high - r["score"]},
                                         ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return folder


@pytest.fixture(scope="module")
def hub_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hub")
    export_hf_dataset("sample", out)
    return out


@pytest.fixture(scope="module")
def pr_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pr")
    export_mteb(out, "sample", repos=[f"{t}=medteb/{t}" for t in TASKS],
                revisions=[f"{t}={SHA}" for t in TASKS])
    return out


def _generated_class(pr_folder: Path, task: str) -> type:
    folder, module, cls = TASKS[task]
    path = pr_folder / "mteb" / "tasks" / folder / "zho" / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"generated_{module}", path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)  # TaskMetadata(...) validates at class creation
    return getattr(loaded, cls)


def _pointed_at(cls: type, folder: Path) -> Any:
    """The generated class with its Hub path replaced by a local folder (nothing else changed)."""
    metadata = cls.metadata.model_copy(deep=True)
    metadata.dataset["path"] = str(folder)
    return type(cls.__name__, (cls,), {"metadata": metadata})()


def test_hf_dataset_layout_and_load_dataset(hub_folder: Path) -> None:
    from datasets import load_dataset

    rerank = hub_folder / "MedTEB-Rerank"
    card = (rerank / "README.md").read_text("utf-8")
    header = card.split("---\n")[1]
    assert "config_name: default" in header and "path: qrels/test-*.parquet" in header
    assert "license: unknown" in header and BENCHMARK_CITATION in card
    corpus = load_dataset(str(rerank), "corpus", split="test")
    assert corpus.column_names == ["_id", "title", "text"] and len(corpus) == 80
    qrels = load_dataset(str(rerank), "default", split="test")
    assert qrels.column_names == ["query-id", "corpus-id", "score"]
    top = load_dataset(str(rerank), "top_ranked", split="test")
    assert top[0]["query-id"] == "rq001" and top[0]["corpus-ids"][:2] == ["rd033", "rd026"]
    sts = load_dataset(str(hub_folder / "MedTEB-STS"), split="test")
    assert sts.column_names == ["sentence1", "sentence2", "score"] and len(sts) == 45
    assert sts[0] == {"sentence1": "阿司匹林是饭前吃还是饭后吃？",
                      "sentence2": "长期吃乙酰水杨酸会不会引起胃出血？", "score": 0.0}


def test_hf_dataset_cli_overwrites_only_when_asked(tmp_path: Path, hub_folder: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from medteb.cli import main

    argv = ["export", "hf-dataset", "--data-dir", "sample", "--out", str(tmp_path), "-t",
            "MedTEB-STS"]
    assert main(argv) == 0 and main(argv) == 2
    assert "already exist(s); pass --overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MedTEB-STS"]  # no temp folder left
    assert (tmp_path / "MedTEB-STS/README.md").read_text("utf-8") == \
        (hub_folder / "MedTEB-STS/README.md").read_text("utf-8")


def test_hf_dataset_errors_write_nothing(tmp_path: Path, hub_folder: Path) -> None:
    with pytest.raises(ExportError, match=r"already exist\(s\); pass --overwrite"):
        export_hf_dataset("sample", hub_folder)
    with pytest.raises(ExportError, match="holds none of the MedTEB task folders"):
        export_hf_dataset(tmp_path, tmp_path / "out")
    with pytest.raises(ExportError, match="not a MedTEB task: CMedQAv1-reranking"):
        export_hf_dataset("sample", tmp_path / "out", ["CMedQAv1-reranking"])
    broken = tmp_path / "data" / "MedTEB-STS"
    shutil.copytree(SAMPLE_TASKS / "MedTEB-STS" / "sample", broken)
    (broken / "sts" / "test.jsonl").write_text('{"sentence1": "a", "sentence2": "b"}\n', "utf-8")
    with pytest.raises(ExportError, match="has no labels .* export it with --public-only"):
        export_hf_dataset(tmp_path / "data", tmp_path / "out")
    (broken / "sts" / "test.jsonl").write_text(
        '{"sentence1": "a", "sentence2": "b", "score": 1}\n{"sentence1": "c", "sentence2": "d"}\n',
        "utf-8")
    from medteb.errors import DataValidationError

    with pytest.raises(DataValidationError, match='line 2: missing "score"'):
        export_hf_dataset(tmp_path / "data", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # no half-written task folder


def test_mteb_export_refuses_without_a_published_dataset(tmp_path: Path) -> None:
    from medteb.cli import main

    out = tmp_path / "pr"
    assert main(["export", "mteb", "--out", str(out), "--data-dir", "sample"]) == 2
    assert not out.exists()
    from medteb.benchmark.definitions import load_definitions

    one = [load_definitions()["MedTEB-STS"]]
    with pytest.raises(ExportError, match="no published dataset for MedTEB-STS"):
        resolve_datasets(one)
    with pytest.raises(ExportError, match="expected a 40-character Hub commit SHA"):
        resolve_datasets(one, ["org/sts"], ["abc123"])
    with pytest.raises(ExportError, match="'MedTEB-STSX' is not one of the exported tasks"):
        resolve_datasets(one, ["MedTEB-STSX=org/sts"], [SHA])
    assert resolve_datasets(one, ["org/sts"], [SHA])["MedTEB-STS"].path == "org/sts"


def test_mteb_export_files(pr_folder: Path) -> None:
    from medteb.cli import main

    for task, (folder, module, cls) in TASKS.items():
        metadata = _generated_class(pr_folder, task).metadata
        assert metadata.is_filled() and metadata.name == task
        assert metadata.dataset == {"path": f"medteb/{task}", "revision": SHA}
        assert metadata.reference == "https://arxiv.org/abs/2604.10937"
        # mteb's citation test re-formats the BibTeX and requires it unchanged
        assert normalise_bibtex(metadata.bibtex_citation) == metadata.bibtex_citation.strip()
        init = (pr_folder / "mteb" / "tasks" / folder / "zho" / "__init__.py").read_text("utf-8")
        assert f"from .{module} import {cls}\n" in init and f'    "{cls}",\n' in init
    stats = json.loads((pr_folder / "mteb/descriptive_stats/Reranking/MedTEB-Rerank.json")
                       .read_text("utf-8"))
    assert stats["test"]["num_queries"] == 30 and stats["test"]["num_documents"] == 80
    benchmark_init = (pr_folder / "mteb/benchmarks/benchmarks/__init__.py").read_text("utf-8")
    assert "from mteb.benchmarks.benchmarks.cmedteb import MEDTEB\n" in benchmark_init
    spec = importlib.util.spec_from_file_location(
        "generated_cmedteb", pr_folder / "mteb/benchmarks/benchmarks/cmedteb.py")
    benchmark_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark_module)
    benchmark = benchmark_module.MEDTEB
    assert (benchmark.name, list(benchmark.aliases)) == ("MedTEB", ["CMedTEB"])
    assert [t.metadata.name for t in benchmark.tasks][:2] == ["CMedQAv1-reranking",
                                                              "CMedQAv2-reranking"]
    # ruff's import order and __all__ order, as mteb's lint applies them
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache",
                           "--select", "I,F,RUF022", str(pr_folder / "mteb")],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    # the CLI writes the same files again (idempotent __init__ edits on an mteb checkout)
    assert main(["export", "mteb", "--out", str(pr_folder), "--data-dir", "sample",
                 *PUBLISHED]) == 0
    assert (pr_folder / "mteb/benchmarks/benchmarks/__init__.py").read_text("utf-8") == \
        benchmark_init


def test_add_to_init_keeps_the_file_and_sorts() -> None:
    text = 'from .a import A\nfrom .c import C\n\n__all__ = [\n    "A",\n    "C",\n]\n'
    assert add_to_init(text, ".b", ["B"]) == (
        'from .a import A\nfrom .b import B\nfrom .c import C\n\n'
        '__all__ = [\n    "A",\n    "B",\n    "C",\n]\n')
    assert add_to_init(add_to_init(text, ".b", ["B"]), ".b", ["B"]) == \
        add_to_init(text, ".b", ["B"])


def test_normalise_bibtex() -> None:
    assert normalise_bibtex("@Misc{k, Year=2025, title={A {B} c}}") == (
        "@misc{k,\n  title = {A {B} c},\n  year = {2025},\n}")
    assert normalise_bibtex(CMEDTEB_BIBTEX).startswith("@inproceedings{cmedteb2026,\n"
                                                        "  archiveprefix = {arXiv},")
    from medteb.benchmark.citation import BibtexError

    with pytest.raises(BibtexError, match="unbalanced braces"):
        normalise_bibtex("@misc{k, title={A {B}")
    with pytest.raises(BibtexError, match="entry 'k' is not closed"):
        normalise_bibtex("@misc{k, title={A}")
    with pytest.raises(BibtexError, match="no BibTeX entry"):
        normalise_bibtex("not bibtex")


def test_generated_tasks_score_exactly_like_medteb_tasks(pr_folder: Path, hub_folder: Path,
                                                         tiny_bert: Path,
                                                         datasets_cache: Path) -> None:
    """The pull request's tasks on the exported Hub folders = MedTEB's tasks on the originals."""
    import mteb

    from medteb.benchmark.tasks import get_task
    from medteb.models import load_local_model

    model = load_local_model(str(tiny_bert))
    for task in TASKS:
        generated = _pointed_at(_generated_class(pr_folder, task), hub_folder / task)
        ours = get_task(task, data_dir="sample")
        scores = [mteb.evaluate(model, t, cache=None, show_progress_bar=False)
                  .task_results[0].scores["test"][0] for t in (generated, ours)]
        assert scores[0] == scores[1], task
        assert 0 < scores[0]["main_score"] <= 1
        # and mteb's statistics of the Hub folder are the exported descriptive statistics
        exported = json.loads((pr_folder / "mteb" / "descriptive_stats" /
                               generated.metadata.type / f"{task}.json").read_text("utf-8"))
        generated.load_data()  # mteb.evaluate unloads the data when done
        assert generated._calculate_descriptive_statistics_from_split("test") == \
            exported["test"]


def test_two_exports_of_different_data_are_never_read_from_each_others_cache(
        tmp_path: Path, datasets_cache: Path, pr_folder: Path, tiny_bert: Path) -> None:
    """The same task name and card layout, other data: datasets and mteb read each export's own
    rows even from one shared cache, and the equality check can fail (it tells the two apart)."""
    import mteb
    from datasets import load_dataset

    from medteb.benchmark.tasks import get_task
    from medteb.models import load_local_model

    other = _other_sts_data(tmp_path / "other-data")
    (first,) = export_hf_dataset("sample", tmp_path / "a", ["MedTEB-STS"])
    (second,) = export_hf_dataset(other, tmp_path / "b", ["MedTEB-STS"])
    assert first.revision != second.revision
    rows = [load_dataset(str(e.folder), split="test").to_list() for e in (first, second)]
    assert len(rows[0]) == first.rows["default"] and len(rows[1]) == 20 != len(rows[0])
    assert rows[1] == [json.loads(line) for line in (other / "MedTEB-STS" / "sts" /
                                                     "test.jsonl").read_text("utf-8").splitlines()]
    model = load_local_model(str(tiny_bert))
    cls = _generated_class(pr_folder, "MedTEB-STS")

    def score(task: Any) -> dict:
        return mteb.evaluate(model, task, cache=None, show_progress_bar=False) \
            .task_results[0].scores["test"][0]

    generated = [score(_pointed_at(cls, e.folder)) for e in (first, second)]
    ours = [score(get_task("MedTEB-STS", data_dir=d)) for d in ("sample", other)]
    assert generated == ours
    assert generated[0]["main_score"] != generated[1]["main_score"]  # the check can fail

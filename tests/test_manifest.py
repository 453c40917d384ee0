"""``run_manifest.yaml``: every ``medteb run`` records beside its results how to run it again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from medteb.cli import main
from medteb.errors import ResultsError
from medteb.results.manifest import MANIFEST_FILE, RunManifest, read_manifest


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _only_folder(root: Path) -> Path:
    (folder,) = [p for p in root.glob("*/*") if p.is_dir()]
    return folder


def test_bm25_run_writes_a_manifest_and_a_second_run_adds_its_task(in_tmp: Path) -> None:
    import mteb

    base = ["run", "-m", "bm25-zh", "--data-dir", "sample", "-v", "0"]
    assert main([*base, "-t", "MedTEB-STS"]) == 0
    folder = _only_folder(in_tmp / "runs")
    manifest = read_manifest(folder)
    assert manifest.kind == "model"
    assert (manifest.model_name, manifest.model_revision) == ("medteb/bm25-zh", folder.name)
    assert manifest.query == manifest.document
    assert (manifest.query.model, manifest.query.revision) == ("bm25-zh", folder.name)
    assert manifest.query.dtype is None  # bm25 has no weights
    stored = json.loads((folder / "MedTEB-STS.json").read_text())
    record = manifest.tasks["MedTEB-STS"]
    assert record.data_revision == stored["dataset_revision"]
    assert record.data_revision.startswith("sample-") and "SAMPLE" in record.data
    assert record.score == pytest.approx(stored["scores"]["test"][0]["main_score"], abs=1e-6)
    assert (record.main_score, record.eval_splits) == ("cosine_pearson", ["test"])
    assert manifest.versions["mteb"] == mteb.__version__
    assert manifest.versions["medteb"] and "torch" in manifest.versions
    assert manifest.hardware["device"] == "auto" and manifest.hardware["cpu_count"]
    assert manifest.batch_size is None

    assert main([*base, "-t", "MedTEB-Retrieval", "--batch-size", "4"]) == 0
    again = read_manifest(folder)
    assert sorted(again.tasks) == ["MedTEB-Retrieval", "MedTEB-STS"]
    assert again.tasks["MedTEB-STS"] == record  # kept, not run again
    assert again.batch_size == 4
    # mteb's loaders read every *.json of the folder as a task result: the manifest is not one
    assert not list(folder.glob("*manifest*.json"))
    assert (folder / "run_settings.jsonl").is_file()


def test_pair_manifest_records_both_sides(in_tmp: Path, tiny_bert: Path) -> None:
    argv = ["run", "--query-model", str(tiny_bert), "--document-model", str(tiny_bert),
            "--query-pooling", "mean", "--query-max-length", "16", "--document-pooling", "cls",
            "--document-dtype", "bfloat16", "--paper-instructions", "--no-document-store",
            "-t", "MedTEB-STS", "--data-dir", "sample", "-v", "0", "--device", "cpu"]
    assert main(argv) == 0
    folder = _only_folder(in_tmp / "runs")
    manifest = read_manifest(folder)
    meta = json.loads((folder / "model_meta.json").read_text())
    pair = meta["loader_kwargs"]["asymmetric"]
    assert manifest.kind == "pair" and manifest.model_name == meta["name"]
    assert (manifest.query.model, manifest.query.pooling, manifest.query.max_length,
            manifest.query.dtype) == (str(tiny_bert), "mean", 16, "float32")
    assert (manifest.document.pooling, manifest.document.dtype) == ("cls", "bfloat16")
    assert manifest.document.max_length == pair["document"]["max_length"]
    assert manifest.query.revision == pair["query"]["revision"]
    assert manifest.query.name == "local/tiny-bert-zh"
    assert "{instruction}" in manifest.query_template
    assert manifest.document_template == "{text}" and manifest.hardware["device"] == "cpu"


def test_local_model_records_its_max_length_and_dtype(in_tmp: Path, tiny_bert: Path) -> None:
    assert main(["run", "-m", str(tiny_bert), "-t", "MedTEB-STS", "--data-dir", "sample",
                 "-v", "0"]) == 0
    manifest = read_manifest(_only_folder(in_tmp / "runs"))
    assert (manifest.kind, manifest.query.model) == ("model", str(tiny_bert))
    assert manifest.query.dtype == "float32" and manifest.query.max_length


def test_no_manifest_when_nothing_was_scored(in_tmp: Path) -> None:
    from medteb.results.manifest import record_run

    assert record_run(None, None, [], []) is None  # type: ignore[arg-type]
    assert not (in_tmp / "runs").exists()


def _valid(folder: Path) -> dict:
    return {"kind": "model", "model_name": "org/m", "model_revision": "r",
            "query": {"model": "org/m", "name": "org/m", "revision": "r"},
            "document": {"model": "org/m", "name": "org/m", "revision": "r"},
            "versions": {"mteb": "2"}, "hardware": {"device": "cpu"},
            "written": "2026-01-01T00:00:00+00:00"}


def test_manifest_round_trips(tmp_path: Path) -> None:
    data = _valid(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text(yaml.safe_dump(data))
    manifest = read_manifest(tmp_path)
    assert RunManifest.model_validate(yaml.safe_load(manifest.to_yaml())) == manifest


@pytest.mark.parametrize(("text", "message"), [
    (None, "no run manifest; results written by `medteb run` before"),
    ("a: [", "not YAML"),
    ("kind: model\n", "invalid run manifest: model_name: Field required"),
])
def test_unreadable_manifests(tmp_path: Path, text: str | None, message: str) -> None:
    if text is not None:
        (tmp_path / MANIFEST_FILE).write_text(text)
    with pytest.raises(ResultsError, match=message):
        read_manifest(tmp_path)


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    data = _valid(tmp_path)
    data["query"]["polling"] = "cls"
    (tmp_path / MANIFEST_FILE).write_text(yaml.safe_dump(data))
    with pytest.raises(ResultsError, match=r"query\.polling: Extra inputs are not permitted"):
        read_manifest(tmp_path)

"""Encoding on Ray workers: the single-process store, bit for bit; killed workers; resumed runs.

One local Ray for the module (2 CPUs, no dashboard); tiny models from conftest.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from medteb.cli import main
from medteb.errors import MedtebError
from medteb.evaluation.ray_encode import (
    RayEncodeError,
    RayEncoderPool,
    RaySettings,
    ShardRequest,
)
from medteb.evaluation.ray_worker import DocumentSideRecipe, ShardWorker
from medteb.models.document_store import DocumentStore, DocumentStoreError, EntryKey
from medteb.models.sides import SideConfig

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'medteb[ray]')")

ENTRY = EntryKey("MedTEB-Retrieval", "test", "default", "sample")
SHARD = 16
BATCH = 8


def _side(folder: Path) -> SideConfig:
    """The paper's document side: last-token pooled (the CLI test covers a side loaded as -m)."""
    return SideConfig(str(folder), pooling="last-token")


@pytest.fixture(scope="module")
def local_ray() -> object:
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Unix socket paths must stay short
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp,
             logging_level="ERROR")
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    corpus = Path(__file__).resolve().parents[1] / "tasks/MedTEB-Retrieval/sample/corpus.jsonl"
    rows = [json.loads(line)["text"] for line in corpus.read_text("utf-8").splitlines()]
    return rows[:120] + rows[:5]  # 120 distinct texts (8 shards), five of them twice


@pytest.fixture(scope="module")
def reference(tiny_decoder: Path, texts: list[str],
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """Single-process vectors: what ``get_or_encode`` stores with the same shard size."""
    loaded = DocumentSideRecipe(_side(tiny_decoder), BATCH).load(None)
    store = DocumentStore(tmp_path_factory.mktemp("single"), shard_size=SHARD)
    store.get_or_encode(loaded.identity, ENTRY, texts, loaded.encode)
    return _stored(store.root)


@pytest.fixture(scope="module")
def pool(local_ray: object, tiny_decoder: Path) -> RayEncoderPool:
    recipe = DocumentSideRecipe(_side(tiny_decoder), BATCH)
    with RayEncoderPool(recipe, RaySettings(workers=2), on_progress=lambda _: None) as started:
        yield started


def _stored(root: Path) -> dict[str, np.ndarray]:
    """Every shard file under ``root``: relative path -> digests and vectors, byte for byte."""
    from safetensors.numpy import load_file

    return {str(p.relative_to(root)): load_file(p)
            for p in sorted(root.glob("*/*/shard-*.safetensors"))}


def _assert_same_store(got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want)  # same shard files: same texts cut the same way
    for name, data in want.items():
        np.testing.assert_array_equal(got[name]["digests"], data["digests"])
        assert got[name]["vectors"].tobytes() == data["vectors"].tobytes(), name


def test_cli_ray_store_is_the_single_process_store(
        local_ray: object, tmp_path: Path, tiny_decoder: Path,
        capsys: pytest.CaptureFixture) -> None:
    """Same shard files, byte for byte, so `run --stored-documents-only` (test_doc_store) reads
    a Ray-encoded store unchanged. First in the module: the shared pool below holds both CPUs."""
    common = ["--document-model", str(tiny_decoder), "--data-dir", "sample", "-v", "0",
              "-t", "MedTEB-Retrieval"]
    assert main(["encode-documents", *common, "--document-store", str(tmp_path / "one")]) == 0
    single = capsys.readouterr().out
    assert main(["encode-documents", *common, "--document-store", str(tmp_path / "ray"),
                 "--ray", "--ray-workers", "1"]) == 0
    assert capsys.readouterr().out == single.replace(str(tmp_path / "one"), str(tmp_path / "ray"))
    assert "| MedTEB-Retrieval | test | 151 | 151 |" in single
    _assert_same_store(_stored(tmp_path / "ray"), _stored(tmp_path / "one"))


def test_build_pool_with_ray_pools_what_it_pools_without(
        local_ray: object, tmp_path: Path, tiny_bert: Path) -> None:
    """Also before the shared pool (CPUs). The dense retriever's corpus goes through Ray into
    <work>/document_store (bm25-zh would run here as always)."""
    sample = Path(__file__).resolve().parents[1] / "tasks/MedTEB-Retrieval/sample"
    for work in ("plain", "ray"):
        for name in ("queries.jsonl", "corpus.jsonl"):
            (tmp_path / work).mkdir(exist_ok=True)
            shutil.copy(sample / name, tmp_path / work / name)
    retrievers = ["-r", str(tiny_bert), "-k", "5", "-v", "0"]
    assert main(["build", "pool", "--in", str(tmp_path / "plain"), *retrievers]) == 0
    assert main(["build", "pool", "--in", str(tmp_path / "ray"), *retrievers, "--ray",
                 "--ray-workers", "1"]) == 0
    assert ((tmp_path / "ray/pool.jsonl").read_text("utf-8")
            == (tmp_path / "plain/pool.jsonl").read_text("utf-8"))
    stored = _stored(tmp_path / "ray/document_store")
    assert sum(len(d["digests"]) for d in stored.values()) == 151


def test_two_workers_store_the_single_process_shards_bit_for_bit(
        pool: RayEncoderPool, tmp_path: Path, texts: list[str], reference: dict) -> None:
    store = DocumentStore(tmp_path, shard_size=SHARD)
    report = pool.fill(store, [ShardRequest(ENTRY, texts)], show_progress=False)
    assert (report.encoded, report.shards) == ([120], 8)
    _assert_same_store(_stored(tmp_path), reference)
    again = pool.fill(DocumentStore(tmp_path, shard_size=SHARD), [ShardRequest(ENTRY, texts)],
                      show_progress=False)
    assert (again.encoded, again.shards) == ([0], 0)


def test_an_interrupted_driver_resumes_with_only_the_missing_shards(
        pool: RayEncoderPool, tmp_path: Path, texts: list[str], reference: dict) -> None:
    def interrupt_after_three(report: object) -> None:
        if report.shards == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pool.fill(DocumentStore(tmp_path, shard_size=SHARD), [ShardRequest(ENTRY, texts)],
                  show_progress=False, on_shard=interrupt_after_three)
    assert len(_stored(tmp_path)) == 3
    resumed = pool.fill(DocumentStore(tmp_path, shard_size=SHARD), [ShardRequest(ENTRY, texts)],
                        show_progress=False)
    assert (resumed.encoded, resumed.shards) == ([120 - 3 * SHARD], 5)
    _assert_same_store(_stored(tmp_path), reference)


def test_a_killed_worker_has_its_shards_redone_and_no_text_is_stored_twice(
        pool: RayEncoderPool, tmp_path: Path, texts: list[str], reference: dict) -> None:
    victim = pool.worker_pids()[0]

    def kill_once(report: object) -> None:
        if report.shards == 1:
            os.kill(victim, signal.SIGKILL)

    report = pool.fill(DocumentStore(tmp_path, shard_size=SHARD), [ShardRequest(ENTRY, texts)],
                       show_progress=False, on_shard=kill_once)
    assert report.replaced_workers == 1 and report.redone_shards >= 1
    assert (report.encoded, report.shards) == ([120], 8)
    stored = _stored(tmp_path)
    digests = np.concatenate([d["digests"] for d in stored.values()])
    assert len({d.tobytes() for d in digests}) == len(digests) == 120
    _assert_same_store(stored, reference)
    assert victim not in pool.worker_pids() and len(pool.worker_pids()) == 2


def test_a_lost_answer_is_redone_like_a_dead_worker(
        pool: RayEncoderPool, tmp_path: Path, texts: list[str], reference: dict,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a finished shard whose node died before the driver fetched it: Ray says ObjectLostError
    real_get, lost = ray.get, []

    def get(refs: object, *args: object, **kwargs: object) -> object:
        if isinstance(refs, ray.ObjectRef) and not lost:
            lost.append(refs)
            raise ray.exceptions.ObjectLostError(refs.hex(), None, "")
        return real_get(refs, *args, **kwargs)

    monkeypatch.setattr(ray, "get", get)
    report = pool.fill(DocumentStore(tmp_path, shard_size=SHARD), [ShardRequest(ENTRY, texts)],
                       show_progress=False)
    assert lost and report.replaced_workers == 1 and report.redone_shards >= 1
    assert (report.encoded, report.shards) == ([120], 8)
    _assert_same_store(_stored(tmp_path), reference)
    monkeypatch.undo()
    assert len(pool.worker_pids()) == 2  # the worker that held the answer was replaced


def test_a_worker_with_another_encoder_never_fills_the_store_entry(
        tiny_decoder: Path) -> None:
    # the check each shard carries: a replacement worker on a node with other model files
    worker = ShardWorker(DocumentSideRecipe(_side(tiny_decoder), BATCH), "cpu", None)
    key = worker.identity().key
    assert worker.encode(["高血压"], None, key).shape[0] == 1
    with pytest.raises(MedtebError, match=r"^a Ray worker loaded another encoder \(.*\) than "
                                          r"the one whose store entry it would fill"):
        worker.encode(["高血压"], None, "another-key")


def test_a_worker_that_cannot_load_the_encoder_says_why(tmp_path: Path) -> None:
    # what the driver re-raises as the worker's own one-line error when the pool starts
    worker = ShardWorker(DocumentSideRecipe(_side(tmp_path / "missing"), BATCH), "cpu", None)
    with pytest.raises(MedtebError, match=r"^document model path '.*missing' does not exist"):
        worker.identity()


def test_too_few_gpus_is_a_one_line_error(local_ray: object, tiny_decoder: Path) -> None:
    pool = RayEncoderPool(DocumentSideRecipe(_side(tiny_decoder), BATCH),
                          RaySettings(workers=1, gpus_per_worker=1), on_progress=lambda _: None)
    with pytest.raises(RayEncodeError, match=r"^1 workers x 1 GPUs need 1 GPUs; the Ray "
                                             r"cluster has 0 free"), pool:
        pass


def test_an_empty_corpus_is_refused_as_in_a_single_process(
        pool: RayEncoderPool, tmp_path: Path) -> None:
    with pytest.raises(DocumentStoreError, match="no documents to look up or encode for "
                                                 "MedTEB-Retrieval .*the task's corpus is empty"):
        pool.fill(DocumentStore(tmp_path), [ShardRequest(ENTRY, [])], show_progress=False)
    assert not any(tmp_path.iterdir())


def test_a_served_document_model_is_refused_before_ray_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDTEB_API_BASE", "http://127.0.0.1:9/v1")  # never contacted
    argv = ["encode-documents", "--document-model", "api/bge-m3", "--data-dir", "sample",
            "-t", "MedTEB-Retrieval", "-v", "0", "--document-store", str(tmp_path / "s"), "--ray"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "api/bge-m3 is a served model" in err and "run without --ray" in err
    assert not (tmp_path / "s").exists()


def test_more_workers_than_free_cpus_is_a_one_line_error(
        pool: RayEncoderPool, tmp_path: Path, tiny_decoder: Path,
        capsys: pytest.CaptureFixture) -> None:
    argv = ["encode-documents", "--document-model", str(tiny_decoder), "--data-dir", "sample",
            "-t", "MedTEB-Retrieval", "-v", "0", "--document-store", str(tmp_path / "s"),
            "--ray", "--ray-workers", "3"]
    assert main(argv) == 2
    assert "3 CPU workers need 3 CPUs; the Ray cluster has 0 free" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_ray_options_without_ray_and_a_missing_ray_are_one_line_errors(
        tmp_path: Path, tiny_decoder: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["encode-documents", "--document-model", str(tiny_decoder), "--data-dir", "sample",
            "-v", "0", "--document-store", str(tmp_path / "s"), "--ray-workers", "2"]
    assert main(argv) == 2
    assert "--ray-workers only apply with --ray" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayEncodeError, match=r"pip install 'medteb\[ray\]'"):
        RayEncoderPool(DocumentSideRecipe(_side(tiny_decoder), 8),
                       RaySettings()).__enter__()
    assert not (tmp_path / "s").exists()


def test_more_deaths_than_replacements_stop_the_run_with_what_is_done_stored(
        pool: RayEncoderPool, tmp_path: Path, texts: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the last test of the module: it leaves the pool a worker short
    monkeypatch.setattr(pool, "max_replacements", pool.replaced)  # no replacement left
    victim = pool.worker_pids()[0]

    def kill_once(report: object) -> None:
        if report.shards == 1:
            os.kill(victim, signal.SIGKILL)

    with pytest.raises(RayEncodeError, match=r"Ray workers died \(the last: .*\); giving up\. "
                                             r"Finished shards are stored: rerun to resume"):
        pool.fill(DocumentStore(tmp_path, shard_size=SHARD), [ShardRequest(ENTRY, texts)],
                  show_progress=False, on_shard=kill_once)
    stored = _stored(tmp_path)
    assert 1 <= sum(len(d["digests"]) for d in stored.values()) // SHARD < 8

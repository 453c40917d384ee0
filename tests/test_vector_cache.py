"""The one caching wrapper (models/vector_cache.py): per-batch durability, its error paths, and
caches written before it existed (tests/fixtures/vector_cache_int, made by int's code) read as
they are."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from medteb._vectors import NonFiniteVectorsError
from medteb.models.document_store import (
    DocumentStore,
    DocumentStoreError,
    EncoderIdentity,
    EntryKey,
    StoreEntry,
)
from medteb.models.served.cache import ALL_TEXTS, ServedIdentity, ServedVectors
from medteb.models.served.client import ApiConfig
from medteb.models.served.side import PROBE_TEXT, ApiSide
from medteb.models.vector_cache import VectorCache, VectorCacheError, in_chunks
from tests.conftest import ROOT
from tests.stub_embeddings import DIM, StubEmbeddings, vector_of

FIXTURE = ROOT / "tests" / "fixtures" / "vector_cache_int"
#: the folders int's code wrote (their names are the keys; they must not change)
SERVED_KEY, DOCUMENT_KEY = "b8884275e9fcb73a", "76b42f6fe49fc440"
SERVED_TEXTS = ["高血压", "糖尿病", "冠心病"]
DOCUMENTS = ["文档甲", "文档乙", "文档丙"]
DOC_IDENTITY = EncoderIdentity("org/doc", "rev1", "cls", 512, "float32", DIM, 1000)
DOC_ENTRY = EntryKey("MedTEB-Retrieval", "test", "default", "sample")


@pytest.fixture(autouse=True)
def _no_default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDTEB_DOCUMENT_STORE", str(tmp_path / "default-store"))


class ListBackend:
    """A backend in memory that records every write (a VectorBackend)."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.vectors: dict[str, np.ndarray] = {}
        self.writes: list[list[str]] = []

    def lookup(self, texts: list[str]) -> tuple[np.ndarray | None, list[int]]:
        missing = [i for i, t in enumerate(texts) if t not in self.vectors]
        if len(missing) == len(texts):
            return None, missing
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            if t in self.vectors:
                out[i] = self.vectors[t]
        return out, missing

    def add(self, texts: list[str], vectors: np.ndarray) -> None:
        self.writes.append(list(texts))
        self.vectors.update(zip(texts, vectors, strict=True))


def _stream(fail_after: int | None = None, batch: int = 2):
    """An encoder that hands over ``batch`` texts at a time, then fails after ``fail_after``."""
    seen: list[list[str]] = []

    def encoder(texts, keep) -> None:
        for start in range(0, len(texts), batch):
            if fail_after is not None and len(seen) == fail_after:
                raise ConnectionError("the endpoint went away")
            chunk = texts[start: start + batch]
            seen.append(chunk)
            keep(chunk, np.stack([vector_of(t) for t in chunk]))

    return encoder, seen


@pytest.mark.parametrize(("flush_every", "writes"), [
    (100, [["a", "b", "c", "d"]]),          # kept until the encoder stops
    (2, [["a", "b"], ["c", "d"]]),          # written as they come
])
def test_every_finished_batch_is_kept_when_the_encoder_fails(tmp_path: Path, flush_every: int,
                                                             writes: list[list[str]]) -> None:
    backend = ListBackend(tmp_path)
    cache = VectorCache(backend, flush_every=flush_every)
    encoder, seen = _stream(fail_after=2)
    with pytest.raises(ConnectionError, match="the endpoint went away"):
        cache.encode(["a", "b", "c", "d", "e", "f"], encoder)
    assert seen == [["a", "b"], ["c", "d"]] and backend.writes == writes
    assert cache.stats.encoded == 4
    again, seen = _stream()
    out = cache.encode(["f", "a", "e", "a"], again)
    assert seen == [["f", "e"]]  # only the misses, each distinct text once
    np.testing.assert_allclose(out, np.stack([vector_of(t) for t in ["f", "a", "e", "a"]]))
    assert (cache.stats.reused, cache.stats.encoded) == (2, 6)


def test_in_chunks_cuts_like_the_document_store_shards(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return np.stack([vector_of(t) for t in texts])

    store = DocumentStore(tmp_path, shard_size=2)
    texts = [f"病{i}" for i in range(5)]
    VectorCache(ListBackend(tmp_path), 2).encode(texts, in_chunks(encode, 2))
    assert calls == list(store.shards(texts)) == [texts[:2], texts[2:4], texts[4:]]


def test_misses_without_an_encoder_and_a_skipping_encoder_are_errors(tmp_path: Path) -> None:
    backend = ListBackend(tmp_path)
    backend.add(["a"], vector_of("a")[None])
    cache = VectorCache(backend, 10)
    np.testing.assert_allclose(cache.encode(["a"], None), vector_of("a")[None])  # all stored
    with pytest.raises(VectorCacheError, match=rf"^1 of 2 texts have no vector in "
                                               rf"{tmp_path} and there is no encoder"):
        cache.encode(["a", "b"], None)

    def skipping(texts, keep) -> None:
        keep(texts[:1], vector_of(texts[0])[None])

    with pytest.raises(VectorCacheError, match=r"handed back vectors of 1 of the 2 texts"):
        cache.encode(["b", "c"], skipping)
    assert cache.encode([], None).shape == (0, 0)


def test_a_non_finite_batch_is_refused_where_it_enters_the_store(tmp_path: Path) -> None:
    backend = StoreEntry(DocumentStore(tmp_path), DOC_IDENTITY, DOC_ENTRY)
    cache = VectorCache(backend, flush_every=2)

    def encoder(texts, keep) -> None:
        keep(texts[:2], np.stack([vector_of(t) for t in texts[:2]]))
        keep(texts[2:], np.full((2, DIM), np.nan, dtype=np.float32))

    with pytest.raises(NonFiniteVectorsError, match=r"^org/doc: non-finite vectors"):
        cache.encode(["甲", "乙", "丙", "丁"], encoder)
    assert DocumentStore(tmp_path).lookup(DOC_IDENTITY, DOC_ENTRY,
                                          ["甲", "乙", "丙", "丁"])[1] == [2, 3]


def test_the_served_key_is_the_one_int_wrote(tmp_path: Path) -> None:
    assert ServedIdentity("stub-embed").key == SERVED_KEY
    assert ServedIdentity("stub-embed", dim=DIM).key == SERVED_KEY  # dim recorded, not keyed
    assert ServedIdentity("stub-embed2").key != SERVED_KEY
    assert DOC_IDENTITY.key == DOCUMENT_KEY
    written = (FIXTURE / SERVED_KEY / "encoder.json").read_text(encoding="utf-8")
    store = DocumentStore(tmp_path)
    store.add(ServedIdentity("stub-embed", DIM), ALL_TEXTS, ["x"], vector_of("x")[None])
    assert (tmp_path / SERVED_KEY / "encoder.json").read_text(encoding="utf-8") == written
    assert (tmp_path / SERVED_KEY / ALL_TEXTS.key).is_dir()
    assert ServedVectors(store, "stub-embed").stored_dim() == DIM
    assert ServedVectors(store, "other").stored_dim() is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_served_cache_written_by_int_is_read_and_extended_in_place(tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(FIXTURE, store, ignore=shutil.ignore_patterns("*.py"))
    down = ApiConfig(f"http://127.0.0.1:{_free_port()}/v1", store=str(store))
    side = ApiSide("api/stub-embed", down, "query")  # dimension from the old encoder.json
    assert side.dim == DIM
    np.testing.assert_allclose(side.encode(SERVED_TEXTS[::-1], 8, False, ""),
                               np.stack([vector_of(t) for t in SERVED_TEXTS[::-1]]), rtol=1e-6)
    assert (side.stats.reused, side.requests) == (3, 0)  # the endpoint is down: all cached
    before = sorted(p.name for p in (store / SERVED_KEY).rglob("shard-*"))
    with StubEmbeddings() as stub:
        live = ApiSide("api/stub-embed", ApiConfig(stub.base_url, store=str(store)), "query")
        live.encode([*SERVED_TEXTS, "肺炎"], 8, False, "")
        assert [texts for texts, _ in stub.log] == [[PROBE_TEXT], ["肺炎"]]  # probe matched
    after = sorted(p.name for p in (store / SERVED_KEY).rglob("shard-*"))
    assert len(after) == len(before) + 1 and set(before) <= set(after)
    assert sorted(p.name for p in store.iterdir()) == sorted([SERVED_KEY, DOCUMENT_KEY])


def test_a_document_store_written_by_int_answers_store_only(tmp_path: Path) -> None:
    store = DocumentStore(FIXTURE)
    out = store.get_or_encode(DOC_IDENTITY, DOC_ENTRY, DOCUMENTS[::-1], None)
    np.testing.assert_allclose(out, np.stack([vector_of(t) for t in DOCUMENTS[::-1]]))
    assert (store.stats.reused, store.stats.encoded) == (3, 0)
    other = EntryKey("MedTEB-Retrieval", "test", "default", "sample2")
    with pytest.raises(DocumentStoreError, match=r"3 of 3 documents of MedTEB-Retrieval .*have no "
                                        r"stored vector from org/doc"):
        store.get_or_encode(DOC_IDENTITY, other, DOCUMENTS, None)

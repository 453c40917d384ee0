"""``POST /v1/embeddings`` against any OpenAI-compatible endpoint, safely (httpx2, no SDK).

:class:`EmbeddingsClient` sends texts in batches of ``batch_size``, at most ``concurrency``
requests at a time, each with a ``timeout_s`` limit on the whole request (connect, send, and
the complete answer: a server that trickles bytes cannot hold it longer). What happens to a
failed request follows MedTEB's one endpoint policy (:mod:`medteb.endpoint`, shared with the
build pipeline's judges):

- **retried** with exponential backoff (with jitter; ``Retry-After`` honoured, in seconds or as
  an HTTP date, capped at ``backoff_max_s``): a timeout, a dropped connection, HTTP 408, 409,
  429, 5xx, and an answer that is not what was asked for (not JSON, not one vector per input,
  vectors of different or unexpected dimensions);
- **fatal at once**, with the cause: a refused connection (or an unknown host) and any other
  4xx (a wrong model name, a bad key, a wrong URL);
- after ``max_retries`` retries, fatal with the last cause.

After a fatal failure (or Ctrl-C) no batch is sent again: batches still retrying stop at their
next wait instead of using up their retries.

Every error is one line that names the endpoint and the served model. The API key is read from
the environment variable ``key_env`` when the client is made, sent only as a bearer header,
and masked out of every message (some servers echo it back).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from medteb._vectors import require_finite
from medteb.endpoint import RetryPolicy, is_retryable_status, mask_secret, retry_after_seconds
from medteb.errors import MedtebError

logger = logging.getLogger(__name__)

DEFAULT_KEY_ENV = "MEDTEB_API_KEY"


class ApiError(MedtebError, RuntimeError):
    """An embeddings endpoint that cannot be used: refused, 4xx, or retries exhausted."""


class _Abandoned(Exception):
    """A batch given up because another failed for good (or Ctrl-C): not an error of its own."""


class _Retry(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's wish, in seconds."""

    def __init__(self, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ApiConfig:
    """How to reach an OpenAI-compatible embeddings endpoint.

    Attributes:
        base_url: the API base, as for the ``openai`` client, e.g. ``http://127.0.0.1:8000/v1``
            (requests go to ``<base_url>/embeddings``).
        key_env: the environment variable holding the API key; unset or empty sends no key.
        concurrency: requests in flight at once.
        timeout_s: the limit of one request, from connecting to the answer's last byte.
        max_retries: retries of one batch after retryable failures (see the module docstring).
        backoff_s: the first retry's delay; it doubles with each retry (with jitter).
        backoff_max_s: the longest wait, also for a ``Retry-After``.
        store: the folder that caches the vectors (None: the default document store).
    """

    base_url: str
    key_env: str = DEFAULT_KEY_ENV
    concurrency: int = 4
    timeout_s: float = 60.0
    max_retries: int = 6
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    store: str | None = None

    def check(self, what: str = "API") -> None:
        """Raise :class:`MedtebError` for settings that can never work (nothing is sent)."""
        parts = urlsplit(self.base_url)
        if parts.username is not None or parts.password is not None:  # never echo them
            raise MedtebError(f"{what} base URL has a user:password part; give the key in an "
                              "environment variable instead (--api-key-env)")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MedtebError(f"{what} base URL {self.base_url!r} is not an http(s) URL; give "
                              "the API base as for the openai client, e.g. "
                              "http://127.0.0.1:8000/v1")
        if self.concurrency < 1 or self.max_retries < 0:
            raise MedtebError(f"{what}: concurrency must be at least 1 and retries at least 0")
        if not (self.timeout_s > 0 and self.backoff_s >= 0 and self.backoff_max_s >= 0):  # nan too
            raise MedtebError(f"{what}: the timeout must be positive and backoffs not negative")

    @property
    def retry(self) -> RetryPolicy:
        """How failed requests are retried (:mod:`medteb.endpoint`)."""
        return RetryPolicy(self.max_retries, self.backoff_s, self.backoff_max_s)

    @property
    def endpoint(self) -> str:
        """``<base_url>/embeddings`` without any user:password part."""
        parts = urlsplit(self.base_url.rstrip("/"))
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return f"{parts.scheme}://{netloc}{parts.path}/embeddings"

    @property
    def host(self) -> str:
        """The endpoint's host (and port): what results record, never the key."""
        parts = urlsplit(self.base_url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


class EmbeddingsClient:
    """Embed texts with one served model behind one endpoint (see the module docstring).

    Example:
        >>> client = EmbeddingsClient("e5-query", ApiConfig("http://127.0.0.1:8000/v1"))
        >>> client.embed(["高血压吃什么药"], batch_size=32).shape        # doctest: +SKIP
        (1, 384)
    """

    def __init__(self, model: str, config: ApiConfig,
                 sleep: Callable[[float], Any] | None = None) -> None:
        import httpx2 as httpx

        config.check(f"model api/{model}")
        self.model, self.config, self._sleep = model, config, sleep
        self._key = os.environ.get(config.key_env) or None
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        limits = httpx.Limits(max_connections=config.concurrency,
                              max_keepalive_connections=config.concurrency)
        self._http = httpx.Client(headers=headers, timeout=config.timeout_s, limits=limits)
        self._lock = threading.Lock()
        self.requests = 0  #: HTTP requests sent, retries included
        self.dim: int | None = None  #: set by the first answer; later answers must match

    def _error(self, cause: str) -> ApiError:
        return ApiError(self._mask(f"embeddings endpoint {self.config.endpoint} (served model "
                                   f"{self.model!r}): {cause}"))

    def _mask(self, text: str) -> str:
        return mask_secret(text, self._key)

    def embed_batch(self, texts: Sequence[str],
                    stop: threading.Event | None = None) -> np.ndarray:
        """One batch, retried as the module docstring says; an ``(n, dim)`` float32 array.

        Args:
            stop: set when the batch is no longer wanted (another batch failed for good):
                no further attempt is made.

        Raises:
            ApiError: refused connection, a non-retryable HTTP status, or retries exhausted.
            _Abandoned: ``stop`` was set before the batch was answered.
        """
        last = ""
        for attempt in range(self.config.max_retries + 1):
            if stop is not None and stop.is_set():
                raise _Abandoned
            try:
                return self._request(list(texts))
            except _Retry as err:
                last = str(err)
                if attempt == self.config.max_retries:
                    break
                delay = self.config.retry.delay(attempt, err.retry_after)
                logger.info("%s: %s; retry %d in %.1fs", self.config.endpoint,
                            self._mask(last), attempt + 1, delay)
                # stop.wait wakes at once when another batch fails for good
                (self._sleep or (stop.wait if stop is not None else time.sleep))(delay)
        raise self._error(f"gave up after {self.config.max_retries + 1} attempts; last: {last}")

    def _request(self, texts: list[str]) -> np.ndarray:
        import httpx2 as httpx

        with self._lock:
            self.requests += 1
        body = {"model": self.model, "input": texts, "encoding_format": "float"}
        deadline = time.monotonic() + self.config.timeout_s
        try:
            with self._http.stream("POST", self.config.endpoint, json=body) as response:
                chunks = []
                for chunk in response.iter_bytes():  # httpx times each read: keep a total
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise _Retry(f"no complete answer within {self.config.timeout_s:g}s")
        except httpx.ConnectError as err:  # refused, unknown host: nobody will answer
            raise self._error(f"cannot connect ({_cause(err)}); is the server running "
                              "there?") from None
        except httpx.TimeoutException:
            raise _Retry(f"no answer within {self.config.timeout_s:g}s") from None
        except httpx.TransportError as err:  # dropped connection, broken stream
            raise _Retry(f"connection dropped ({_cause(err)})") from None
        status = response.status_code
        if is_retryable_status(status):
            raise _Retry(f"HTTP {status}",
                         retry_after_seconds(response.headers.get("retry-after")))
        if status >= 400:
            hint = " (does the base URL end in /v1?)" if status == 404 else ""
            message = _message(b"".join(chunks), response.reason_phrase)
            raise self._error(f"HTTP {status}{hint}: {self._mask(message)[:300]}")
        return self._parse(b"".join(chunks), len(texts))

    def _parse(self, raw: bytes, n: int) -> np.ndarray:
        try:
            data = json.loads(raw)["data"]
            rows = sorted(data, key=lambda item: int(item["index"]))
            vectors = [_vector(item["embedding"]) for item in rows]
        except (ValueError, KeyError, TypeError) as err:
            raise _Retry(f"unreadable answer ({type(err).__name__}: {err})") from None
        indices = [int(item["index"]) for item in rows]
        if indices != list(range(n)):
            raise _Retry(f"{len(indices)} vectors for {n} inputs (indices {indices[:5]}…)")
        dims = {len(v) for v in vectors}
        if len(dims) != 1 or 0 in dims:
            raise _Retry(f"vectors of dimensions {sorted(dims)} in one answer")
        dim = dims.pop()
        with self._lock:
            if self.dim is None:
                self.dim = dim
        if dim != self.dim:
            raise _Retry(f"{dim}-d vectors where earlier answers had {self.dim}-d")
        return require_finite(np.asarray(vectors, dtype=np.float32),
                              f"api/{self.model} at {self.config.endpoint}")

    def embed(self, texts: Sequence[str], batch_size: int,
              on_batch: Callable[[list[str], np.ndarray], None] | None = None,
              progress: Callable[[int], None] | None = None) -> np.ndarray:
        """All texts, ``batch_size`` per request, ``concurrency`` requests at a time.

        Args:
            on_batch: called (in this thread) with each finished batch's texts and vectors, as
                they finish, so that a caller can keep them even if a later batch fails.
            progress: called with the number of texts of each finished batch.

        Raises:
            ApiError: the first batch that fails for good; in-flight requests finish and are
                passed to ``on_batch``, batches waiting to retry or not yet started are not
                sent.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        out: list[np.ndarray | None] = [None] * len(starts)
        stop = threading.Event()  # set by the first fatal failure: queued batches are not sent

        def one(batch: list[str]) -> np.ndarray | None:
            if stop.is_set():
                return None
            try:
                return self.embed_batch(batch, stop)
            except _Abandoned:
                return None
            except BaseException:
                stop.set()
                raise

        with ThreadPoolExecutor(max_workers=self.config.concurrency,
                                thread_name_prefix="embeddings") as pool:
            futures: dict[Future, int] = {
                pool.submit(one, texts[s: s + batch_size]): i for i, s in enumerate(starts)}
            pending = set(futures)
            failure: BaseException | None = None
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    for future in done:
                        if future.cancelled():
                            continue
                        if future.exception() is not None:
                            failure = failure or future.exception()
                            continue
                        i = futures[future]
                        out[i] = future.result()
                        if out[i] is None:  # not sent: an earlier batch failed for good
                            continue
                        batch = texts[starts[i]: starts[i] + batch_size]
                        if on_batch is not None:
                            on_batch(batch, out[i])
                        if progress is not None:
                            progress(len(batch))
                    if failure is not None:
                        for future in pending:
                            future.cancel()
            except BaseException:  # Ctrl-C: send nothing new
                stop.set()
                for future in pending:
                    future.cancel()
                raise
        if failure is not None:
            raise failure
        return np.concatenate([o for o in out if o is not None])


def _cause(err: Exception) -> str:
    return str(err) or type(err).__name__


def _vector(value: Any) -> list[float]:
    if isinstance(value, str):  # a server that answers base64 whatever was asked
        import base64

        return np.frombuffer(base64.b64decode(value), dtype="<f4").tolist()
    if not isinstance(value, list) or not all(isinstance(x, (int, float)) for x in value):
        raise TypeError("an embedding is not a list of numbers")
    return value


def _message(raw: bytes, reason: str) -> str:
    """The error message of an HTTP error answer: the OpenAI ``error`` object's, else the body."""
    try:
        error = json.loads(raw).get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if error:
            return str(error)
    except (ValueError, AttributeError):
        pass
    return raw.decode("utf-8", "replace") or reason

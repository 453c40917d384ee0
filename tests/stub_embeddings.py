"""A fault-injecting OpenAI-compatible embeddings stub on 127.0.0.1, over real HTTP.

Vectors are deterministic: each text's vector is drawn from a generator seeded by its SHA-256
(``DIM`` dimensions), so any answer can be checked by :func:`vector_of`.

The first attempt of the i-th distinct request body (in arrival order) gets ``faults[i %
len(faults)]``: ``429`` (with ``Retry-After``), ``503``, ``500``, ``timeout`` (the answer is held
past the client's timeout), ``trickle`` (a 200 sent a few bytes at a time, each pause shorter
than the client's timeout, the whole longer), ``malformed`` (a 200 whose body is not JSON), ``short`` (one vector
fewer than inputs), ``wrong-dim`` (one vector of another dimension), ``drop`` (the connection is
closed without an answer) or ``None`` (answered). Later attempts of a body are answered, so
every text is eventually embedded. ``log`` records (texts, outcome) of every request, and
``authorizations`` every Authorization header seen. A served model named ``reject`` always gets
HTTP 401 whose message echoes the Authorization header (as some servers do; ``reject-long``
pads the message so that the key straddles 300 characters). Inputs starting with ``FATAL``
always get HTTP 400, inputs starting with ``BUSY`` always 503 with ``Retry-After``. Setting
``version`` changes every vector, as swapping the model behind a served name would. A text for
which ``nan_if`` holds (by default: it starts with ``NAN``) gets a vector whose first value is
the bare JSON token ``NaN``, as servers answer under fp16 overflow.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

DIM = 8
FAULTS = ("429", "500", "timeout", "malformed", "short", "drop", "503", "wrong-dim", None)


def vector_of(text: str, dim: int = DIM) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


class StubEmbeddings:
    """The server; use as a context manager. ``base_url`` ends in ``/v1``."""

    def __init__(self, faults: tuple[str | None, ...] = (None,), hang_s: float = 1.0,
                 retry_after: str = "0.25") -> None:
        self.faults, self.hang_s, self.retry_after = faults, hang_s, retry_after
        self.version = ""  #: salts every vector: another "model" behind the same name
        self.dim = DIM  #: the dimension of the vectors served
        self.nan_if: Callable[[str], bool] = lambda text: text.startswith("NAN")
        self.log: list[tuple[list[str], str]] = []
        self.authorizations: list[str | None] = []
        self._first: dict[str, str | None] = {}
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub._handle(self, raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubEmbeddings:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def successes(self) -> list[str]:
        """Every text in a request that was answered correctly, in order (repeats kept)."""
        return [t for texts, outcome in self.log if outcome == "ok" for t in texts]

    def _fault(self, raw: bytes) -> str | None:
        key = hashlib.sha256(raw).hexdigest()
        with self._lock:
            if key in self._first:
                return None
            fault = self.faults[len(self._first) % len(self.faults)]
            self._first[key] = fault
            return fault

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        body = json.loads(raw)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        with self._lock:
            self.authorizations.append(handler.headers.get("Authorization"))
        if body.get("model") in ("reject", "reject-long"):
            self._record(texts, "401")
            pad = "x" * 265 if body["model"] == "reject-long" else ""
            message = f"{pad}invalid key in header {handler.headers.get('Authorization')}"
            return _send(handler, 401, json.dumps({"error": {"message": message}}).encode())
        if texts[0].startswith(("FATAL", "BUSY")):
            fatal = texts[0].startswith("FATAL")
            self._record(texts, "400" if fatal else "503")
            return _send(handler, 400 if fatal else 503, b'{"error": {"message": "no"}}',
                         None if fatal else {"Retry-After": self.retry_after})
        fault = self._fault(raw)
        self._record(texts, fault or "ok")
        if fault in ("429", "503"):
            return _send(handler, int(fault), b'{"error": {"message": "slow down"}}',
                         {"Retry-After": self.retry_after})
        if fault == "500":
            return _send(handler, 500, b'{"error": {"message": "boom"}}')
        if fault == "drop":
            handler.close_connection = True
            return None
        vectors = [vector_of(self.version + t, self.dim).tolist() for t in texts]
        for text, vector in zip(texts, vectors, strict=True):
            if self.nan_if(text):
                vector[0] = float("nan")  # json.dumps writes the bare token NaN
        if fault == "timeout":
            time.sleep(self.hang_s)
        if fault == "short":
            vectors = vectors[:-1]
        if fault == "wrong-dim":
            vectors[-1] = vectors[-1][:-1]
        data = [{"object": "embedding", "index": i, "embedding": v}
                for i, v in enumerate(vectors)]
        answer = json.dumps({"object": "list", "model": body.get("model"), "data": data})
        payload = b'{"object": "list", "data": [' if fault == "malformed" else answer.encode()
        with contextlib.suppress(OSError):  # the client gave up waiting (timeout)
            if fault == "trickle":
                return _trickle(handler, payload, self.hang_s)
            _send(handler, 200, payload)
        return None

    def _record(self, texts: list[str], outcome: str) -> None:
        with self._lock:
            self.log.append((list(texts), outcome))


def _send(handler: BaseHTTPRequestHandler, status: int, payload: bytes,
          headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(payload)


def _trickle(handler: BaseHTTPRequestHandler, payload: bytes, hang_s: float) -> None:
    """A 200 in 20 pieces, hang_s / 5 apart: no pause is long, the whole takes 4 x hang_s."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    step = max(1, len(payload) // 20 + 1)
    for start in range(0, len(payload), step):
        handler.wfile.write(payload[start: start + step])
        handler.wfile.flush()
        time.sleep(hang_s / 5)

"""A local OpenAI-compatible chat-completions stub on 127.0.0.1, over real HTTP.

Ratings are deterministic: the grade a model gives a passage follows the share of the query's
character bigrams found in the passage, with per-model thresholds (so judges disagree a little).
A passage containing ``<<model:G>>`` gets grade G from that model, for hand-built cases.
Synonym-STS prompts (Table 22) are answered from the input JSON.

Injected faults, decided by a hash of the request body on its *first* attempt only (so every
request eventually succeeds): timeouts (the reply is held past the client timeout), HTTP 429,
HTTP 500, a truncated HTTP body, truncated JSON content and malformed content. A query
containing ``永远乱码`` is always answered with malformed content (a persistent failure).
``always_status`` answers every request with that HTTP status (a dead upstream behind a proxy).

``python -m tests.stub_llm --port-file FILE`` runs it standalone (used by the throughput script).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: per-model bigram-share thresholds for S, A, B, C (below the last: D)
THRESHOLDS = {
    "judge-a": (0.6, 0.3, 0.15, 0.05),
    "judge-b": (0.55, 0.25, 0.15, 0.05),
    "judge-c": (0.65, 0.35, 0.2, 0.05),
}
DEFAULT_THRESHOLDS = (0.6, 0.3, 0.15, 0.05)
FAULTS = ("timeout", "429", "500", "cut-body", "cut-json", "malformed")


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"\W", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def grade(model: str, query: str, passage: str) -> str:
    """The stub's deterministic grade of one passage for one query."""
    forced = re.search(rf"<<{re.escape(model)}:([SABCD])>>", passage)
    if forced:
        return forced.group(1)
    q = _bigrams(query)
    share = len(q & _bigrams(passage)) / len(q)
    for g, t in zip("SABC", THRESHOLDS.get(model, DEFAULT_THRESHOLDS), strict=True):
        if share >= t:
            return g
    return "D"


def _relevance_answer(model: str, prompt: str) -> str:
    query = re.search(r"^- Query: (.*)$", prompt, re.M).group(1)
    passages = re.findall(r"^- Passage-(\d+): (.*)$", prompt, re.M)
    return json.dumps({f"Passage-{i}": grade(model, query, p) for i, p in passages})


def _sts_answer(prompt: str) -> str:
    data = json.loads(re.search(r"^Input: (.*)$", prompt, re.M).group(1))
    replaced = data["query pairs"]["replace"]
    return json.dumps({"positive": replaced,
                       "negative-1": f"{data['replace']}会遗传给下一代吗？",
                       "negative-2": f"{data['origin']}需要做哪些检查？"}, ensure_ascii=False)


class StubLLM:
    """The server; ``requests`` logs (model, body sha256, outcome) for every request seen."""

    def __init__(self, fault_rate: float = 0.0, hang_s: float = 2.0, latency_s: float = 0.0,
                 port: int = 0, always_status: int | None = None) -> None:
        self.fault_rate, self.hang_s, self.latency_s = fault_rate, hang_s, latency_s
        self.always_status = always_status
        self.requests: list[tuple[str, str, str]] = []
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stub._handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> StubLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def served(self) -> Counter[str]:
        """How many successful (well-formed) answers each request body received."""
        return Counter(h for _, h, outcome in self.requests if outcome == "ok")

    def _fault(self, digest: str, attempt: int, prompt: str) -> str | None:
        if "永远乱码" in prompt:
            return "malformed"
        if attempt > 1 or not self.fault_rate:
            return None
        bucket = int(digest[:8], 16) / 0xFFFFFFFF
        if bucket >= self.fault_rate:
            return None
        return FAULTS[int(digest[8:12], 16) % len(FAULTS)]

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        digest = hashlib.sha256(body).hexdigest()
        request = json.loads(body)
        model = request["model"]
        prompt = request["messages"][-1]["content"]
        with self._lock:
            self._seen[digest] += 1
            fault = self._fault(digest, self._seen[digest], prompt)
            self.requests.append((model, digest, fault or "ok"))
        if self.latency_s:
            time.sleep(self.latency_s)
        if self.always_status is not None:
            self._send(handler, self.always_status, {"error": {"message": "upstream is down"}})
            return
        if fault == "timeout":
            time.sleep(self.hang_s)
        if fault in ("429", "500"):
            self._send(handler, int(fault), {"error": {"message": f"stub {fault}"}})
            return
        if "Medical Query Rewriting" in prompt:
            content = _sts_answer(prompt)
        else:
            content = _relevance_answer(model, prompt)
        if fault == "cut-json":
            content = content[: len(content) // 2]
        elif fault == "malformed":
            content = "好的，以下是评分：" + content.replace('"', "").replace(":", "=")
        reply = {"id": "stub-" + digest[:12], "object": "chat.completion", "created": 0,
                 "model": model,
                 "choices": [{"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": content}}],
                 "usage": {"prompt_tokens": len(prompt) // 2, "completion_tokens": len(content),
                           "total_tokens": len(prompt) // 2 + len(content)}}
        self._send(handler, 200, reply, cut=fault == "cut-body")

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, obj: dict, cut: bool = False) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            if status == 429:
                handler.send_header("Retry-After", "0")
            handler.end_headers()
            handler.wfile.write(data[: len(data) // 2] if cut else data)
            handler.wfile.flush()
            if cut:
                handler.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", default=None)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    stub = StubLLM(fault_rate=args.fault_rate, latency_s=args.latency, port=args.port)
    with stub:
        if args.port_file:
            with open(args.port_file, "w") as handle:
                handle.write(str(stub.server.server_address[1]))
        stub.thread.join()


if __name__ == "__main__":
    main()

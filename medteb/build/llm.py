"""OpenAI-compatible LLM calls that are safe to run for days against paid APIs.

- A judge is a chat-completions endpoint described by :class:`JudgeConfig` (base URL, model, the
  *name* of the environment variable holding its API key); judges are always passed in.
- Every finished call is appended to a :class:`ResponseStore` (JSONL, flushed and fsynced) under
  ``sha256(judge, model, prompt version, input)`` before anything else happens, so Ctrl-C or a
  crash loses nothing and a rerun answers finished inputs from the store without a request.
- Calls run with bounded concurrency per judge. Failed requests follow MedTEB's one endpoint
  policy (:mod:`medteb.endpoint`, shared with served embedding models): timeouts, dropped
  connections, HTTP 408/409/429 and 5xx are retried with exponential backoff (``Retry-After``
  honoured, in seconds or as an HTTP date). Other HTTP errors (bad key, unknown model), a
  refused connection and an unknown host stop the run at once with
  :class:`~medteb.errors.JudgeError`: retrying cannot fix them. The key is masked out of every
  message.
- A judge whose requests keep failing (``max_consecutive_failures`` failed requests in a row:
  timeouts, dropped connections, 5xx; not 429) is stopped: its remaining calls are left
  pending, and its last error is reported (:attr:`CallStats.last_errors`, ``stopped``).
- A response the caller's parser rejects (malformed or incomplete JSON) is asked again up to
  ``parse_retries`` times; if it persists, a *failure record* is stored and reported, never
  dropped or guessed. Calls whose transport retries run out are not stored: they are reported
  as pending and a rerun tries them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from medteb.build.judges import JudgeConfig, load_judges
from medteb.build.response_store import ResponseStore
from medteb.endpoint import is_retryable_status, mask_secret, retry_after_seconds
from medteb.errors import JudgeError

__all__ = ["CallStats", "JudgeConfig", "LLMRequest", "ResponseStore", "call_problems",
           "load_judges", "request_key", "run_calls"]

#: a parser turns the model's text into the stored output, or raises ValueError (then retried)
Parser = Callable[[str], Any]


def request_key(judge: JudgeConfig, prompt_version: str, payload: Any) -> str:
    """The store key of one call: sha256 of judge name, model, prompt version and input."""
    blob = json.dumps({"judge": judge.name, "model": judge.model, "prompt": prompt_version,
                       "input": payload}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LLMRequest:
    """One call: ``payload`` is the logical input (it makes the key), ``messages`` the prompt.

    ``parse`` overrides the batch's parser for this call (outputs validated against the input).
    """

    payload: Any
    messages: list[dict[str, str]]
    parse: Parser | None = None


@dataclass
class CallStats:
    """What a batch of calls did. ``pending`` calls ran out of transport retries (rerun)."""

    total: int = 0
    cached: int = 0
    called: int = 0
    failed: int = 0
    pending: int = 0
    tokens: int = 0
    http_requests: int = 0
    seconds: float = 0.0
    pending_errors: list[str] = field(default_factory=list)
    last_errors: dict[str, str] = field(default_factory=dict)  # judge -> its last error
    stopped: dict[str, str] = field(default_factory=dict)  # judge -> why it was stopped

    @property
    def incomplete(self) -> bool:
        """Some call is pending (rerun) or failed (``--retry-failures``)."""
        return bool(self.pending or self.failed)

    @property
    def calls_per_second(self) -> float:
        return self.called / self.seconds if self.seconds > 0 else 0.0


def call_problems(stats: CallStats) -> list[str]:
    """Lines saying what is incomplete and why: each judge's stop or last error, then what to
    run. Empty when every call finished."""
    lines = [f"judge {name}: {why}" for name, why in sorted(stats.stopped.items())]
    if not stats.incomplete:
        return lines
    lines += [f"judge {name}: last error: {error}" for name, error in
              sorted(stats.last_errors.items()) if name not in stats.stopped]
    lines.append(f"incomplete: {stats.pending} call(s) pending (run the same command again to "
                 f"finish them), {stats.failed} failed (add --retry-failures to ask again)")
    return lines


class _Pending(Exception):
    """Transport retries exhausted: leave the call unstored so that a rerun retries it."""


def _unreachable(err: BaseException) -> str | None:
    """'connection refused' / 'unknown host ...' when a connection error cannot heal by
    retrying, else None."""
    seen: BaseException | None = err
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused (is the server running? check base_url)"
        if isinstance(seen, socket.gaierror):
            return f"unknown host ({seen.strerror or seen}; check base_url)"
        seen = seen.__cause__ or seen.__context__
    return None


class _Runner:
    def __init__(self, judge: JudgeConfig, prompt_version: str, parse: Parser,
                 store: ResponseStore, stop: threading.Event, stats: CallStats,
                 lock: threading.Lock, client: Any, max_consecutive_failures: int) -> None:
        self.judge, self.prompt_version, self.parse = judge, prompt_version, parse
        self.store, self.stop, self.stats, self.lock, self.client = (
            store, stop, stats, lock, client)
        self.max_failures = max_consecutive_failures
        self.failures_in_a_row = 0
        self.judge_stopped = threading.Event()
        self.secret = os.environ.get(judge.api_key_env) or None  # masked out of messages

    def _failed(self, error: str, counts: bool) -> None:
        """Record a failed request; stop the judge after too many in a row."""
        error = mask_secret(error, self.secret)
        with self.lock:
            self.stats.last_errors[self.judge.name] = error
            if not counts:
                return
            self.failures_in_a_row += 1
            if self.failures_in_a_row >= self.max_failures and not self.judge_stopped.is_set():
                self.judge_stopped.set()
                self.stats.stopped[self.judge.name] = (
                    f"stopped after {self.failures_in_a_row} failed requests in a row; last "
                    f"error: {error}")

    def _succeeded(self) -> None:
        with self.lock:
            self.failures_in_a_row = 0

    def _sleep(self, attempt: int, retry_after: float | None) -> None:
        deadline = time.monotonic() + self.judge.retry.delay(attempt, retry_after)
        while not (self.stop.is_set() or self.judge_stopped.is_set()):  # wake on either
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.stop.wait(min(left, 0.2))

    def _http(self, messages: list[dict[str, str]]) -> tuple[str, int]:
        import openai

        last = ""
        for attempt in range(self.judge.max_retries + 1):
            if self.stop.is_set():
                raise _Pending("interrupted")
            if self.judge_stopped.is_set():
                raise _Pending(f"{self.judge.name}: {self.stats.stopped[self.judge.name]}")
            with self.lock:
                self.stats.http_requests += 1
            retry_after = None
            try:
                kwargs: dict[str, Any] = {"temperature": self.judge.temperature}
                if self.judge.max_tokens:
                    kwargs["max_tokens"] = self.judge.max_tokens
                response = self.client.chat.completions.create(
                    model=self.judge.model, messages=messages, **kwargs)
                text = response.choices[0].message.content or ""
                tokens = response.usage.total_tokens if response.usage else 0
                self._succeeded()
                return text, int(tokens or 0)
            except openai.APIConnectionError as err:  # includes timeouts
                reason = _unreachable(err)
                if reason is not None:
                    self._failed(reason, counts=False)
                    raise JudgeError(f"judge {self.judge.name!r} ({self.judge.base_url}): "
                                     f"{reason}") from err
                last = f"{type(err).__name__}: {err}"
                cause = err.__cause__
                if cause is not None and str(cause) and str(cause) != str(err):
                    last += f" ({type(cause).__name__}: {cause})"
                self._failed(last, counts=True)
            except openai.APIStatusError as err:
                status = err.status_code
                if not is_retryable_status(status):
                    raise JudgeError(mask_secret(
                        f"judge {self.judge.name!r} ({self.judge.base_url}, model "
                        f"{self.judge.model!r}): HTTP {status}: {err.message}. Check the "
                        f"model name and the key in ${self.judge.api_key_env}.",
                        self.secret)) from err
                last = f"HTTP {status}: {re.sub(r'^Error code: [0-9]+ - ', '', err.message)}"
                self._failed(last, counts=status >= 500)
                header = err.response.headers.get("retry-after") if err.response else None
                retry_after = retry_after_seconds(header)
            except (ValueError, KeyError, IndexError, AttributeError) as err:
                last = f"unreadable response body: {err}"
                self._failed(last, counts=True)
            if attempt < self.judge.max_retries:
                self._sleep(attempt, retry_after)
        raise _Pending(mask_secret(f"{self.judge.name}: gave up after "
                                   f"{self.judge.max_retries + 1} attempts ({last})", self.secret))

    def __call__(self, key: str, request: LLMRequest) -> dict[str, Any]:
        raws: list[str] = []
        tokens = 0
        for attempt in range(self.judge.parse_retries + 1):
            text, used = self._http(request.messages)
            tokens += used
            raws.append(text)
            try:
                output = (request.parse or self.parse)(text)
            except ValueError as err:
                error = f"{err}"
                continue
            return self._store(key, request, ok=True, output=output, raw=text, tokens=tokens,
                               attempts=attempt + 1, rejected=raws[:-1])
        return self._store(key, request, ok=False, error=f"malformed output after "
                           f"{len(raws)} attempts: {error}", raws=raws, tokens=tokens,
                           attempts=len(raws))

    def _store(self, key: str, request: LLMRequest, **fields: Any) -> dict[str, Any]:
        record = {"key": key, "judge": self.judge.name, "model": self.judge.model,
                  "prompt_version": self.prompt_version, "input": request.payload,
                  "at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **fields}
        self.store.append(record)
        return record


def run_calls(
    jobs: Sequence[tuple[JudgeConfig, Sequence[LLMRequest]]],
    prompt_version: str,
    parse: Parser,
    store: ResponseStore,
    *,
    retry_failures: bool = False,
    show_progress: bool = False,
    description: str = "LLM calls",
    client_factory: Callable[[JudgeConfig], Any] | None = None,
    max_consecutive_failures: int = 5,
) -> CallStats:
    """Make every call not yet in ``store``; all judges run at once, each with its own pool.

    Args:
        jobs: (judge, requests) pairs; requests of one judge share its concurrency limit.
        prompt_version: part of every key (a new prompt never reuses old answers).
        parse: turns response text into the stored output; raises ValueError to re-ask.
        store: where finished calls are appended; also the cache consulted first.
        retry_failures: call again the inputs whose stored record is a failure.
        show_progress: draw a progress bar (done/total, calls/s, ETA, tokens) on stderr.
        client_factory: builds the ``openai`` client of a judge (default: ``openai.OpenAI``).
        max_consecutive_failures: stop a judge after this many failed requests in a row
            (timeouts, dropped connections, 5xx); its remaining calls stay pending.

    Returns:
        The counts; ``pending`` > 0 means some calls must be retried by running again;
        ``last_errors`` and ``stopped`` say what went wrong with each judge.

    Raises:
        JudgeError: a judge answered with a non-retryable HTTP error, refused the connection,
            has an unknown host, or has no API key.
        KeyboardInterrupt: after in-flight calls have finished and been stored.
    """
    stats, lock, stop = CallStats(), threading.Lock(), threading.Event()
    todo = _calls_to_make(jobs, prompt_version, store, retry_failures, stats)
    start = time.monotonic()
    progress, task_id = _progress(show_progress, description, stats)
    executors: list[ThreadPoolExecutor] = []
    try:
        futures: dict[Future, JudgeConfig] = {}
        for judge in dict.fromkeys(j for j, _, _ in todo):
            factory = client_factory or _openai_client
            runner = _Runner(judge, prompt_version, parse, store, stop, stats, lock,
                             factory(judge), max_consecutive_failures)
            executor = ThreadPoolExecutor(max_workers=judge.concurrency,
                                          thread_name_prefix=f"judge-{judge.name}")
            executors.append(executor)
            for j, key, request in todo:
                if j == judge:
                    futures[executor.submit(runner, key, request)] = judge
        for future in as_completed(futures):
            _count(future, stats)
            if progress is not None:
                elapsed = max(time.monotonic() - start, 1e-9)
                progress.update(task_id, advance=1, rate=f"{stats.called / elapsed:.1f}/s",
                                tokens=f"{stats.tokens:,}")
    except BaseException:
        stop.set()  # no new calls; in-flight ones finish and are stored
        for executor in executors:
            executor.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        stats.seconds = time.monotonic() - start
        for executor in executors:
            executor.shutdown(wait=True)
        if progress is not None:
            progress.stop()
    return stats


def _calls_to_make(jobs: Sequence[tuple[JudgeConfig, Sequence[LLMRequest]]],
                   prompt_version: str, store: ResponseStore, retry_failures: bool,
                   stats: CallStats) -> list[tuple[JudgeConfig, str, LLMRequest]]:
    """(judge, key, request) of every distinct call the store cannot answer; counts the rest."""
    todo: list[tuple[JudgeConfig, str, LLMRequest]] = []
    for judge, requests in jobs:
        seen: set[str] = set()
        for request in requests:
            key = request_key(judge, prompt_version, request.payload)
            if key in seen:
                continue
            seen.add(key)
            stats.total += 1
            record = store.get(key)
            if record is not None and (record.get("ok") or not retry_failures):
                stats.cached += 1
            else:
                todo.append((judge, key, request))
    return todo


def _count(future: Future, stats: CallStats) -> None:
    """Add one finished call to the counts: stored (ok or failed), or still pending."""
    try:
        record = future.result()
    except _Pending as err:
        stats.pending += 1
        if len(stats.pending_errors) < 10:
            stats.pending_errors.append(str(err))
    else:
        stats.called += 1
        stats.failed += 0 if record.get("ok") else 1
        stats.tokens += int(record.get("tokens") or 0)


def _openai_client(judge: JudgeConfig) -> Any:
    import openai

    return openai.OpenAI(base_url=judge.base_url, api_key=judge.api_key(),
                         timeout=judge.timeout_s, max_retries=0)


def _progress(show: bool, description: str, stats: CallStats) -> tuple[Any, Any]:
    if not show:
        return None, None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                        TextColumn("{task.fields[tokens]} tokens"),
                        console=Console(stderr=True))
    task_id = progress.add_task(description, total=stats.total, completed=stats.cached,
                                rate="0.0/s", tokens="0")
    progress.start()
    return progress, task_id

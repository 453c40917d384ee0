"""The one endpoint policy (medteb.endpoint): retried statuses, Retry-After, backoff, key masking;
and that judges and served embedders both follow it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from medteb.build.judges import JudgeConfig
from medteb.endpoint import RetryPolicy, is_retryable_status, mask_secret, retry_after_seconds
from medteb.errors import JudgeError, MedtebError
from medteb.models.served.client import ApiConfig


@pytest.mark.parametrize(("status", "retried"), [
    (408, True), (409, True), (429, True), (500, True), (502, True), (503, True), (599, True),
    (400, False), (401, False), (403, False), (404, False), (410, False), (422, False),
])
def test_which_statuses_are_retried(status: int, retried: bool) -> None:
    assert is_retryable_status(status) is retried


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    # 2015-10-21 07:28:00 GMT is 1445412480 seconds after the epoch
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert retry_after_seconds(date, now=1445412480.0 - 7.5) == 7.5
    assert retry_after_seconds(date, now=1445412480.0 + 60) == 0.0  # in the past: no wait
    assert retry_after_seconds(" 3 ") == 3.0 and retry_after_seconds("0.25") == 0.25
    assert retry_after_seconds("-4") == 0.0
    for unusable in (None, "", "soon", "nan", "Wed, 99 Foo"):
        assert retry_after_seconds(unusable) is None, unusable


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_retries=5, backoff_s=0.5, backoff_max_s=3.0)
    assert [policy.delay(n, jitter=lambda: 0.0) for n in range(4)] == [0.25, 0.5, 1.0, 2.0]
    assert [policy.delay(n, jitter=lambda: 1.0) for n in range(4)] == [0.5, 1.0, 2.0, 3.0]
    assert policy.delay(9, jitter=lambda: 0.0) == 3.0  # capped
    assert policy.delay(0, retry_after=2.0) == 2.0  # the server's wish replaces the backoff
    assert policy.delay(0, retry_after=100.0) == 3.0  # ... and is capped too
    draws = {policy.delay(1) for _ in range(50)}
    assert len(draws) > 1 and all(0.5 <= d <= 1.0 for d in draws)


@pytest.mark.parametrize(("policy", "match"), [
    (RetryPolicy(-1, 0.1, 1.0), r"^judge x: retries must be at least 0, got -1$"),
    (RetryPolicy(2, -0.1, 1.0), r"^judge x: backoffs must not be negative, got -0\.1 and 1\.0$"),
    (RetryPolicy(2, 0.1, math.nan), r"^judge x: backoffs must not be negative, got 0\.1 and nan$"),
])
def test_impossible_policies_are_refused(policy: RetryPolicy, match: str) -> None:
    with pytest.raises(MedtebError, match=match):
        policy.check("judge x")
    RetryPolicy(0, 0.0, 0.0).check("judge x")  # the least that works


def test_mask_secret_puts_one_line_and_hides_every_copy() -> None:
    assert mask_secret("key sk-1\n  was sk-1", "sk-1") == "key *** was ***"
    assert mask_secret("no key\there", None) == "no key here"


def test_judges_and_served_models_share_one_policy() -> None:
    judge = JudgeConfig(name="j", base_url="http://127.0.0.1:1/v1", model="m",
                        api_key_env="K", max_retries=3, backoff_s=0.2, backoff_max_s=9.0)
    served = ApiConfig("http://127.0.0.1:1/v1", max_retries=3, backoff_s=0.2,
                       backoff_max_s=9.0)
    assert judge.retry == served.retry == RetryPolicy(3, 0.2, 9.0)
    assert ApiConfig("http://127.0.0.1:1/v1", max_retries=4).retry != judge.retry


class _Refusing:
    """An ``openai`` client whose every call fails with ``status``, echoing the key."""

    def __init__(self, status: int, key: str) -> None:
        import httpx2 as httpx
        import openai

        response = httpx.Response(status, request=httpx.Request("POST", "http://x/v1"))
        self.error = openai.APIStatusError(f"Error code: {status} - key {key} rejected",
                                           response=response, body=None)
        self.calls = 0
        self.chat = self
        self.completions = self

    def create(self, **_: Any) -> Any:
        self.calls += 1
        raise self.error


def test_a_judge_masks_its_key_and_retries_409(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from medteb.build.llm import LLMRequest, ResponseStore, run_calls

    monkeypatch.setenv("JUDGE_KEY", "sk-echoed-0123")
    judge = JudgeConfig(name="j", base_url="http://127.0.0.1:1/v1", model="m",
                        api_key_env="JUDGE_KEY", max_retries=2, backoff_s=0.0)
    request = [LLMRequest(payload="p", messages=[{"role": "user", "content": "hi"}])]
    fatal = _Refusing(401, "sk-echoed-0123")
    with pytest.raises(JudgeError, match=r"HTTP 401: .*key \*\*\* rejected") as caught:
        run_calls([(judge, request)], "v1", str, ResponseStore(tmp_path / "a.jsonl"),
                  client_factory=lambda _: fatal)
    assert "sk-echoed" not in str(caught.value) and fatal.calls == 1
    busy = _Refusing(409, "sk-echoed-0123")
    stats = run_calls([(judge, request)], "v1", str, ResponseStore(tmp_path / "b.jsonl"),
                      client_factory=lambda _: busy)
    assert busy.calls == 3 and stats.pending == 1  # 1 attempt + 2 retries, then left pending
    assert "sk-echoed" not in stats.last_errors["j"] + stats.pending_errors[0]
    assert "***" in stats.last_errors["j"]

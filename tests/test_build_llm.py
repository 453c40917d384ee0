"""The LLM-call layer against the local stub over real HTTP: faults, store, resume, voting."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from medteb.build.judge import (
    GRADES,
    PROMPT_VERSION,
    VotingRule,
    fleiss_kappa,
    judge_pool,
    relevance_messages,
    relevance_parser,
)
from medteb.build.llm import (
    JudgeConfig,
    LLMRequest,
    ResponseStore,
    call_problems,
    load_judges,
    request_key,
    run_calls,
)
from medteb.errors import BuildInputError, JudgeError
from tests.stub_llm import StubLLM, grade


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STUB_KEY", "sk-stub")
    return "STUB_KEY"


def _judge(url: str, name: str = "judge-a", **kw) -> JudgeConfig:
    settings = {"concurrency": 4, "timeout_s": 0.5, "backoff_s": 0.01, "backoff_max_s": 0.05,
                **kw}
    return JudgeConfig(name=name, base_url=url, model=name, api_key_env="STUB_KEY", **settings)


def _pool(n_queries: int, n_docs: int) -> tuple[list, dict, dict]:
    queries = {f"q{i}": {"_id": f"q{i}", "text": f"高血压{i}号病人能吃党参吗"}
               for i in range(n_queries)}
    corpus = {f"d{j}": {"_id": f"d{j}", "text": ("高血压病人可以吃党参" if j % 3 == 0 else
                                                   f"感冒发烧{j}多喝水")}
              for j in range(n_docs)}
    pool = [{"query_id": q, "candidates": [{"doc_id": d} for d in corpus]} for q in queries]
    return pool, queries, corpus


def test_every_pair_judged_exactly_once_despite_faults(tmp_path: Path, api_key: str) -> None:
    pool, queries, corpus = _pool(12, 7)
    with StubLLM(fault_rate=0.5, hang_s=1.0) as stub:
        judges = [_judge(stub.base_url, "judge-a"), _judge(stub.base_url, "judge-b")]
        store = ResponseStore(tmp_path / "responses.jsonl")
        report = judge_pool(pool, queries, corpus, judges, store, passages_per_request=3)
        outcomes = {o for _, _, o in stub.requests}
    # every fault kind was injected, and every pair still has exactly one grade per judge
    assert outcomes >= {"ok", "timeout", "429", "500", "cut-body", "cut-json", "malformed"}
    assert len(report.rows) == 12 * 7
    assert all(set(r["grades"]) == {"judge-a", "judge-b"} for r in report.rows)
    assert report.stats.total == report.stats.called == 2 * 12 * 3  # 7 docs -> 3 calls/query
    assert report.stats.pending == report.stats.failed == 0
    assert set(stub.served().values()) == {1}  # no request answered successfully twice
    assert len(store) == 72
    records = [json.loads(line) for line in store.path.read_text(encoding="utf-8").splitlines()]
    retried = [r for r in records if r["attempts"] > 1]  # cut or malformed answers, kept too
    assert retried and all(len(r["rejected"]) == r["attempts"] - 1 for r in retried)
    grades = {(r["query_id"], r["doc_id"]): r["grades"]["judge-a"] for r in report.rows}
    assert grades[("q1", "d0")] == grade("judge-a", queries["q1"]["text"], corpus["d0"]["text"])

    # a rerun makes no request at all and gives the same judgments
    with StubLLM() as stub2:
        judges2 = [j.model_copy(update={"base_url": stub2.base_url}) for j in judges]
        again = judge_pool(pool, queries, corpus, judges2, ResponseStore(store.path),
                           passages_per_request=3)
        assert stub2.requests == []
    assert again.rows == report.rows and again.stats.cached == 72


def test_persistent_malformed_json_is_a_reported_failure(tmp_path: Path, api_key: str) -> None:
    queries = {"q1": {"text": "永远乱码的问题"}, "q2": {"text": "高血压能吃党参吗"}}
    corpus = {"d1": {"text": "高血压可以吃党参"}}
    pool = [{"query_id": q, "candidates": [{"doc_id": "d1"}]} for q in queries]
    with StubLLM() as stub:
        judges = [_judge(stub.base_url, "judge-a", parse_retries=2)]
        store = ResponseStore(tmp_path / "r.jsonl")
        report = judge_pool(pool, queries, corpus, judges, store)
        assert len(stub.requests) == 3 + 1  # asked three times, then recorded as a failure
        status = {r["query_id"]: r["status"] for r in report.rows}
        assert status == {"q1": "failed", "q2": "positive"}
        assert report.failures[0]["query_id"] == "q1"
        assert "malformed output after 3 attempts" in report.failures[0]["error"]
        assert "failure: judge judge-a, query q1" in report.to_markdown()
        # not retried on a plain rerun; retried on request
        judge_pool(pool, queries, corpus, judges, ResponseStore(store.path))
        assert len(stub.requests) == 4
        judge_pool(pool, queries, corpus, judges, ResponseStore(store.path), retry_failures=True)
        assert len(stub.requests) == 7


def test_a_judge_failing_every_request_is_stopped_and_its_calls_stay_pending(
        tmp_path: Path, api_key: str) -> None:
    requests = [LLMRequest({"x": i}, relevance_messages(f"头痛{i}怎么办", ["多休息"]))
                for i in range(20)]
    store = ResponseStore(tmp_path / "r.jsonl")
    with StubLLM(always_status=503) as stub:
        judge = _judge(stub.base_url, max_retries=8, concurrency=2)
        stats = run_calls([(judge, requests)], "v1", json.loads, store,
                          max_consecutive_failures=3)
        assert stats.pending == 20 and len(store) == 0
        # stopped after 3 failed requests in a row (plus at most one in flight per worker),
        # instead of 20 calls x 9 attempts
        assert 3 <= stats.http_requests <= 3 + 2 and len(stub.requests) == stats.http_requests
    assert stats.stopped == {"judge-a": "stopped after 3 failed requests in a row; last error: "
                                        "HTTP 503: upstream is down"}
    assert stats.incomplete and call_problems(stats)[0].startswith("judge judge-a: stopped")
    assert "judge-a: stopped after 3 failed" in stats.pending_errors[0]
    with StubLLM() as stub:  # the endpoint is back: a rerun finishes every call
        stats = run_calls([(_judge(stub.base_url), requests)], "v1", relevance_parser(1),
                          ResponseStore(store.path))
    assert (stats.called, stats.pending, stats.stopped) == (20, 0, {})


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:9/v1", "connection refused (is the server running? check base_url)"),
    ("http://no-such-host.invalid/v1", "unknown host ("),
])
def test_unreachable_endpoint_fails_fast(tmp_path: Path, api_key: str, url: str,
                                         reason: str) -> None:
    import time

    judge = _judge(url, max_retries=8, backoff_s=1.0)
    start = time.monotonic()
    with pytest.raises(JudgeError, match=rf"judge 'judge-a' \({url}\): {re.escape(reason)}"):
        run_calls([(judge, [LLMRequest({"x": 1}, [{"role": "user", "content": "hi"}])])],
                  "v1", json.loads, ResponseStore(tmp_path / "r.jsonl"))
    assert time.monotonic() - start < 5  # no retries with backoff


def test_non_retryable_http_error_stops_with_the_fix(tmp_path: Path, api_key: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import openai

    class Client:
        class chat:
            class completions:
                @staticmethod
                def create(**kw):
                    import httpx2 as httpx

                    response = httpx.Response(401, request=httpx.Request("POST", "http://x"))
                    raise openai.AuthenticationError("bad key", response=response, body=None)

    judge = _judge("http://x/v1")
    with pytest.raises(JudgeError, match=r"HTTP 401: bad key. Check the model name and the key in \$STUB_KEY"):
        run_calls([(judge, [LLMRequest(1, [])])], "v1", json.loads,
                  ResponseStore(tmp_path / "r.jsonl"), client_factory=lambda j: Client())
    monkeypatch.delenv("STUB_KEY")
    with pytest.raises(JudgeError, match="environment variable STUB_KEY is not set"):
        run_calls([(judge, [LLMRequest(1, [])])], "v1", json.loads,
                  ResponseStore(tmp_path / "r2.jsonl"))


def test_store_survives_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    store = ResponseStore(path)
    store.append({"key": "k1", "ok": True, "output": [1]})
    with path.open("a") as handle:
        handle.write('{"key": "k2", "ok": tr')  # crash in the middle of a write
    reopened = ResponseStore(path)
    assert reopened.torn_lines == 1 and reopened.get("k1")["output"] == [1]
    reopened.append({"key": "k3", "ok": True})
    assert ResponseStore(path).get("k3") is not None and len(ResponseStore(path)) == 2


def test_request_key_depends_on_judge_model_prompt_and_input() -> None:
    a = JudgeConfig(name="a", base_url="http://x", model="m", api_key_env="K")
    keys = {request_key(a, "v1", {"q": 1}), request_key(a, "v2", {"q": 1}),
            request_key(a, "v1", {"q": 2}),
            request_key(a.model_copy(update={"model": "m2"}), "v1", {"q": 1})}
    assert len(keys) == 4 and request_key(a, "v1", {"q": 1}) in keys


def test_relevance_prompt_and_parser() -> None:
    messages = relevance_messages("感冒\n多久能好", ["多喝水", "休息\n一周"])
    text = messages[0]["content"]
    assert "- Query: 感冒 多久能好\n- Passage-0: 多喝水\n- Passage-1: 休息 一周" in text
    assert "Given a medical query (Query) and 2 passages" in text
    parse = relevance_parser(2)
    assert parse('```json\n{"Passage-0": "s", "Passage-1": " D"}\n```') == ["S", "D"]
    with pytest.raises(ValueError, match="Passage-1: expected one of S/A/B/C/D, got None"):
        parse('{"Passage-0": "A"}')
    with pytest.raises(ValueError, match="invalid JSON"):
        parse('{"Passage-0": "A", "Passage-1": } ')
    with pytest.raises(ValueError, match="no JSON object"):
        parse("A, B")


def test_voting_rules_on_hand_built_cases() -> None:
    rule = VotingRule()
    assert rule.label(["S", "A", "A"]) == 1
    assert rule.label(["S", "A", "B"]) is None  # one dissent discards the pair
    assert rule.label(["B", "C", "D"]) == 0
    assert rule.label(["D", "D", "S"]) is None
    strict = VotingRule(relevant=frozenset({"S"}), irrelevant=frozenset({"C", "D"}))
    assert strict.label(["S", "S"]) == 1 and strict.label(["A", "S"]) is None
    assert strict.label(["B", "D"]) is None and strict.label(["C", "D"]) == 0
    with pytest.raises(BuildInputError, match="disjoint"):
        VotingRule(relevant=frozenset({"S", "A"}), irrelevant=frozenset({"A", "D"}))
    with pytest.raises(BuildInputError, match=r"unknown: \['E'\]"):
        VotingRule(relevant=frozenset({"E"}))


def test_fleiss_kappa_by_hand_and_against_an_independent_formula() -> None:
    # 4 items, 3 raters, categories S/D. Agreement per item: 1, 1, 1/3, 1/3 -> P_bar = 2/3.
    # Category shares: S = 6/12, D = 6/12 -> P_e = 1/4 + 1/4 = 1/2.
    # kappa = (2/3 - 1/2) / (1 - 1/2) = 1/3.
    ratings = [["S", "S", "S"], ["D", "D", "D"], ["S", "S", "D"], ["D", "D", "S"]]
    assert fleiss_kappa(ratings, ["S", "D"]) == pytest.approx(1 / 3)
    # independent: Fleiss' kappa equals Scott's pi for two raters, from the 2x2 table
    two = [["S", "S"], ["S", "D"], ["D", "D"], ["D", "D"], ["A", "D"]]
    po = 3 / 5
    marg = {c: sum(r.count(c) for r in two) / 10 for c in GRADES}
    pe = sum(v * v for v in marg.values())
    assert fleiss_kappa(two, GRADES) == pytest.approx((po - pe) / (1 - pe))
    assert fleiss_kappa([["S", "S"]], GRADES) == 1.0
    assert math.isnan(fleiss_kappa([], GRADES))
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([["S"], ["S", "A"]], GRADES)


def test_judge_report_agreement_and_discards(tmp_path: Path, api_key: str) -> None:
    queries = {"q": {"text": "头痛怎么办"}}
    corpus = {"d1": {"text": "<<judge-a:S>> <<judge-b:A>>"},
              "d2": {"text": "<<judge-a:S>> <<judge-b:C>>"},
              "d3": {"text": "<<judge-a:D>> <<judge-b:D>>"},
              "d4": {"text": "<<judge-a:B>> <<judge-b:D>>"}}
    pool = [{"query_id": "q", "candidates": [{"doc_id": d} for d in corpus]}]
    with StubLLM() as stub:
        judges = [_judge(stub.base_url, "judge-a"), _judge(stub.base_url, "judge-b")]
        report = judge_pool(pool, queries, corpus, judges, ResponseStore(tmp_path / "r.jsonl"))
    status = {r["doc_id"]: r["status"] for r in report.rows}
    assert status == {"d1": "positive", "d2": "discarded", "d3": "negative", "d4": "negative"}
    agreement = report.agreement()
    assert agreement["discarded_share"] == 0.25 and agreement["pairs_rated_by_all"] == 4
    # binary: rel/rel, rel/not, not/not, not/not -> P_bar = 3/4, p_rel = 3/8, P_e = 34/64
    assert agreement["fleiss_kappa_binary"] == pytest.approx(round((0.75 - 34 / 64) / (30 / 64), 4))
    assert report.to_dict()["prompt_version"] == PROMPT_VERSION


def test_load_judges_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "judges.yaml"
    path.write_text("judges:\n  - {name: a, base_url: http://x, model: m, api_key_env: K}\n"
                    "  - {name: a, base_url: http://y, model: m, api_key_env: K, speed: 3}\n"
                    "  - {name: 'b c', model: m, api_key_env: K}\n")
    with pytest.raises(BuildInputError, match=r"judges\[1\]\.speed: Extra inputs.*judges\[2\]\.name: String should match.*judges\[2\]\.base_url: Field required"):
        load_judges(path)
    path.write_text("judges: []\n")
    with pytest.raises(BuildInputError, match='expected a top-level "judges:" list'):
        load_judges(path)
    path.write_text("judges:\n  - {name: a, base_url: http://x, model: m, api_key_env: K}\n"
                    "  - {name: a, base_url: http://y, model: m, api_key_env: K}\n")
    with pytest.raises(BuildInputError, match="judge name 'a' is used twice"):
        load_judges(path)

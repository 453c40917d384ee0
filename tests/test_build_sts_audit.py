"""Synonym STS (Table 22) with output checks, the CHIP-CDN importer, and the Appendix E audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medteb.benchmark.data.formats import read_sts
from medteb.build.audit import audit_task
from medteb.build.llm import JudgeConfig, ResponseStore
from medteb.build.sts import (
    build_sts,
    import_chip_cdn,
    match_queries,
    sts_messages,
    sts_parser,
    sts_payload,
)
from medteb.cli import main
from medteb.errors import BuildInputError
from tests.conftest import write_jsonl
from tests.stub_llm import StubLLM


@pytest.fixture
def stub_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_KEY", "sk-stub")


def _judge(url: str, name: str = "judge-a") -> JudgeConfig:
    return JudgeConfig(name=name, base_url=url, model=name, api_key_env="STUB_KEY",
                       timeout_s=1.0, backoff_s=0.01, backoff_max_s=0.05)


def test_chip_cdn_importer_keeps_single_clean_terms() -> None:
    records = [{"text": "口臭", "normalized_result": "口腔异味"},
               {"text": "口臭", "normalized_result": "口腔异味"},
               {"text": "急性心梗", "normalized_result": "急性心肌梗死"},
               {"text": "左膝退变伴游离体", "normalized_result": "膝骨关节病##膝关节游离体"},
               {"text": "高血压", "normalized_result": "高血压"},
               {"text": "2型糖尿病", "normalized_result": "糖尿病"},
               {"text": "癫痫", "normalized_result": "部分性发作继发全面性发作"},
               {"text": "右小腿损伤", "normalized_result": '"下肢损伤,水平未特指"'},
               {"text": None}]
    pairs, skipped = import_chip_cdn(records)
    assert [(p["origin"], p["replace"], p["support"]) for p in pairs] == [
        ("口臭", "口腔异味", 2), ("口腔异味", "口臭", 2),
        ("急性心梗", "急性心肌梗死", 1), ("急性心肌梗死", "急性心梗", 1)]
    assert skipped == {"identical": 1, "length_ratio": 1, "malformed": 1,
                       "not_a_single_term": 2, "several_standard_terms": 1}
    one_way, _ = import_chip_cdn(records, both_directions=False)
    assert [p["origin"] for p in one_way] == ["口臭", "急性心梗"]


def test_chip_cdn_importer_on_the_real_release(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "syn.jsonl"
    assert main(["build", "import-cdn", str(shared_data / "CHIP-CDN" / "CHIP-CDN_dev.json"),
                 "--out", str(out)]) == 0
    pairs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(pairs) > 100 and all(p["source"] == "CHIP-CDN" for p in pairs)
    assert all("##" not in p["origin"] + p["replace"] for p in pairs)


def test_match_prefers_the_longest_term() -> None:
    queries = {"q1": {"text": "急性心梗要住院多久"}, "q2": {"text": "感冒吃什么"}}
    synonyms = [{"origin": "心梗", "replace": "心肌梗死"},
                {"origin": "急性心梗", "replace": "急性心肌梗死"}]
    assert match_queries(queries, synonyms) == [
        ("q1", {"origin": "急性心梗", "replace": "急性心肌梗死"})]
    with pytest.raises(BuildInputError, match='synonyms row 1: needs string "origin"'):
        match_queries(queries, [{"origin": 1}])


def test_sts_output_checks() -> None:
    payload = sts_payload("急性心梗要住院多久", {"origin": "急性心梗", "replace": "急性心肌梗死"})
    assert payload["query pairs"]["replace"] == "急性心肌梗死要住院多久"
    assert '"query pairs": {"origin": "急性心梗要住院多久"' in sts_messages(payload)[0]["content"]
    parse = sts_parser(payload)
    good = {"positive": "急性心肌梗死住院多久", "negative-1": "急性心肌梗死会遗传吗",
            "negative-2": "急性心梗吃什么药"}
    assert parse(json.dumps(good, ensure_ascii=False)) == good
    for change, message in (
            ({"positive": "心肌梗死需要住院多少天"}, "replacement term '急性心肌梗死' is missing"),
            ({"negative-2": "心梗吃什么药"}, "original term '急性心梗' is missing from negative-2"),
            ({"positive": "急性心肌梗死患者一般需要在医院住院治疗多久才能出院"},
             r"positive length 25 is outside ±30% of the query's 9"),
            ({"negative-1": "急性心肌梗死住院多久"}, "must differ"),
            ({"negative-1": ""}, 'missing or empty "negative-1"')):
        with pytest.raises(ValueError, match=message):
            parse(json.dumps({**good, **change}, ensure_ascii=False))


def test_build_sts_samples_one_per_query_and_reports_failures(tmp_path: Path,
                                                               stub_key: None) -> None:
    queries = {f"q{i}": {"text": f"急性心梗第{i}天要住院多久"} for i in range(30)}
    queries["bad"] = {"text": "口臭"}  # positive "口腔异味" is 100% longer: fails every time
    synonyms = [{"origin": "急性心梗", "replace": "急性心肌梗死"},
                {"origin": "口臭", "replace": "口腔异味"}]
    with StubLLM() as stub:
        report = build_sts(queries, synonyms, _judge(stub.base_url),
                           ResponseStore(tmp_path / "r.jsonl"), seed=0)
        assert len(stub.requests) == 30 + 3  # the failing one was asked three times
    assert report.matched == 31 and len(report.rows) == 30
    assert report.failures == [{"query_id": "bad", "error": "malformed output after 3 "
                                "attempts: positive length 4 is outside ±30% of the query's 2"}]
    assert sum(report.counts.values()) == 30 and len(report.counts) == 3
    for row, gen in zip(report.rows, report.generated, strict=True):
        assert row["sentence2"] == gen[gen["sampled"]]
        assert row["score"] == (1 if gen["sampled"] == "positive" else 0)
    again = build_sts(queries, synonyms, _judge("http://127.0.0.1:9/v1"),
                      ResponseStore(tmp_path / "r.jsonl"), seed=0)
    assert again.rows == report.rows  # from the store, same sampling
    other = build_sts(queries, synonyms, _judge("http://127.0.0.1:9/v1"),
                      ResponseStore(tmp_path / "r.jsonl"), seed=1)
    assert other.rows != report.rows


def test_sts_cli_writes_a_valid_task(tmp_path: Path, stub_key: None) -> None:
    work = tmp_path / "work"
    write_jsonl(work / "queries.jsonl", [{"_id": f"q{i}", "text": f"口臭第{i}天怎么治疗好"}
                                         for i in range(12)])
    write_jsonl(tmp_path / "syn.jsonl", [{"origin": "口臭", "replace": "口腔异味"}])
    with StubLLM() as stub:
        (tmp_path / "j.yaml").write_text(
            f"judges:\n  - {{name: gen, base_url: '{stub.base_url}', model: gen, "
            "api_key_env: STUB_KEY}\n", encoding="utf-8")
        assert main(["build", "sts", "--in", str(work), "--synonyms", str(tmp_path / "syn.jsonl"),
                     "--judges", str(tmp_path / "j.yaml"), "--out", str(tmp_path / "data"),
                     "-v", "0"]) == 0
    data = read_sts(tmp_path / "data" / "MedTEB-STS", "test", (0, 1))
    assert len(data.rows) == 12
    sheet = (tmp_path / "data" / "datasheet.md").read_text(encoding="utf-8")
    assert "synonym STS: synonym-sts-table22-v1" in sheet and "| MedTEB-STS |" in sheet


def test_audit_counts_false_positives_and_negatives(tmp_path: Path, stub_key: None) -> None:
    # judge grades are forced per passage: q1 has a labelled positive both judges reject (FP),
    # an unlabelled document both accept (FN), and one they disagree on (neither)
    queries = {"q1": {"text": "头痛怎么办"}, "q2": {"text": "发烧怎么办"}}
    corpus = {"d1": {"text": "甲 <<judge-a:D>> <<judge-b:C>>"},
              "d2": {"text": "乙 <<judge-a:S>> <<judge-b:A>>"},
              "d3": {"text": "丙 <<judge-a:S>> <<judge-b:C>>"},
              "d4": {"text": "丁 <<judge-a:A>> <<judge-b:A>>"}}
    qrels = {"q1": {"d1": 1, "d4": 1}, "q2": {"d4": 1}}
    rankings = {"q1": ["d2", "d3"], "q2": ["d4", "d2"]}
    with StubLLM() as stub:
        judges = [_judge(stub.base_url, "judge-a"), _judge(stub.base_url, "judge-b")]
        report = audit_task(queries, corpus, qrels, rankings, judges,
                            ResponseStore(tmp_path / "r.jsonl"))
    # q1: original {d1, d4}; LLM positives {d2, d4}; FP d1; FN d2. q2: original {d4};
    # LLM positives {d4, d2}; FP none; FN d2. Averages over 2 queries:
    assert report.averages == {"original_positives": 1.5, "llm_positives": 2.0,
                               "false_positives": 0.5, "false_negatives": 1.0}
    assert [(e["query_id"], e["doc_id"]) for e in report.false_positives] == [("q1", "d1")]
    assert [(e["query_id"], e["doc_id"]) for e in report.false_negatives] == [
        ("q1", "d2"), ("q2", "d2")]
    text = report.to_markdown()
    assert "| 1.50 | 2.00 | 0.50 | 1.00 |" in text and "q1 / d1: 头痛怎么办 -> 甲" in text


def test_audit_cli_on_a_task_folder(tmp_path: Path, stub_key: None,
                                    capsys: pytest.CaptureFixture) -> None:
    from tests.conftest import write_qrels

    task = tmp_path / "MedTEB-Retrieval"
    write_jsonl(task / "queries.jsonl", [{"_id": "q1", "text": "高血压能吃党参吗"},
                                         {"_id": "q2", "text": "感冒发烧怎么办"}])
    write_jsonl(task / "corpus.jsonl", [
        {"_id": "d1", "text": "高血压能吃党参吗？高血压病人可以吃党参"},
        {"_id": "d2", "text": "高血压能吃党参，党参有降压作用"},
        {"_id": "d3", "text": "感冒发烧怎么办？多喝水多休息"},
        {"_id": "d4", "text": "糖尿病饮食注意事项"}])
    write_qrels(task / "qrels" / "test.tsv", [("q1", "d1", 1), ("q2", "d4", 1)])
    with StubLLM() as stub:
        (tmp_path / "j.yaml").write_text(
            "judges:\n" + "".join(f"  - {{name: {n}, base_url: '{stub.base_url}', model: {n}, "
                                  "api_key_env: STUB_KEY}\n" for n in ("judge-a", "judge-b")),
            encoding="utf-8")
        assert main(["build", "audit", "--task-dir", str(task), "-r", "bm25-zh", "-k", "2",
                     "--work", str(tmp_path / "audit"), "--judges", str(tmp_path / "j.yaml"),
                     "-v", "0"]) == 0
    report = json.loads((tmp_path / "audit" / "audit_report.json").read_text(encoding="utf-8"))
    assert report["retriever"] == "bm25-zh" and report["queries"] == 2
    # q1: d1 labelled and judged relevant; d2 unlabelled but judged relevant (FN).
    # q2: d4 labelled but judged irrelevant (FP); d3 judged relevant (FN).
    assert report["per_query_average"] == {"original_positives": 1.0, "llm_positives": 1.5,
                                           "false_positives": 0.5, "false_negatives": 1.0}
    assert "| 1.00 | 1.50 | 0.50 | 1.00 |" in capsys.readouterr().out
    assert (tmp_path / "audit" / "audit_report.md").is_file()


def test_pool_retrieve_and_min_score() -> None:
    from medteb.build.pool import retrieve
    from medteb.models import load_model

    queries = {"q1": {"text": "高血压能吃党参吗"}, "q2": {"text": "感冒发烧怎么办"}}
    corpus = {"d1": {"text": "高血压病人可以口服党参"}, "d2": {"text": "感冒发烧多喝水"},
              "d3": {"text": "糖尿病饮食"}}
    model = load_model("bm25-zh")
    assert retrieve(model, queries, corpus, 2) == {"q1": ["d1", "d2"], "q2": ["d2", "d1"]}
    # d1 shares no term with q2 (and d2 none with q1): score 0, dropped with min_score=0
    assert retrieve(model, queries, corpus, 2, min_score=0) == {"q1": ["d1"], "q2": ["d2"]}

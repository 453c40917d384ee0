"""``medteb build`` end to end: real text, stub judges over HTTP, kill-and-resume, medteb run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medteb.build.io import read_jsonl
from medteb.build.judge import PROMPT_VERSION
from medteb.cli import main
from tests.conftest import ROOT, write_jsonl
from tests.stub_llm import StubLLM

DIALOGUE_CSV = "Chinese-medical-dialogue-sample/样例_内科5000-6000.csv"


def _judges_file(path: Path, url: str, names: list[str], **settings) -> Path:
    base = {"api_key_env": "STUB_KEY", "concurrency": 4, "timeout_s": 1.0, "backoff_s": 0.01,
            "backoff_max_s": 0.05, **settings}
    path.write_text(json.dumps({"judges": [{"name": n, "base_url": url, "model": n, **base}
                                           for n in names]}), encoding="utf-8")
    return path


@pytest.fixture
def stub_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_KEY", "sk-stub")


def test_pipeline_on_real_text_is_evaluated_by_medteb_run(
        shared_data: Path, tiny_bert: Path, tmp_path: Path, stub_key: None,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    csv = str(shared_data / DIALOGUE_CSV)
    assert main(["build", "prepare", "--queries", csv, "--query-field", "title",
                 "--documents", csv, "--document-field", "answer", "--encoding", "gb18030",
                 "--limit", "120", "--out", "raw"]) == 0
    assert main(["build", "diversify", "--in", "raw", "--out", "work", "-m", "bm25-zh",
                 "-v", "0"]) == 0
    assert main(["build", "pool", "--in", "work", "-r", "bm25-zh", str(tiny_bert),
                 "-k", "8", "-v", "0"]) == 0
    pool = read_jsonl("work/pool.jsonl")
    found_by = {r for row in pool for c in row["candidates"] for r in c["found_by"]}
    assert found_by == {"bm25-zh", str(tiny_bert)}
    assert all(8 <= len(row["candidates"]) <= 16 for row in pool)
    # the saved per-retriever runs are reused on a rerun
    assert main(["build", "pool", "--in", "work", "-r", "bm25-zh", "-k", "8"]) == 0
    assert "bm25-zh: reusing" in capsys.readouterr().err

    with StubLLM(fault_rate=0.2, hang_s=1.5) as stub:
        judges = _judges_file(tmp_path / "judges.json", stub.base_url,
                              ["judge-a", "judge-b", "judge-c"])
        assert main(["build", "judge", "--in", "work", "--judges", str(judges), "-v", "0",
                     "--passages-per-request", "5"]) == 0
        out = capsys.readouterr().out
        assert set(stub.served().values()) == {1}
        first = len(stub.requests)
        assert main(["build", "judge", "--in", "work", "--judges", str(judges), "-v", "0",
                     "--passages-per-request", "5"]) == 0
        assert len(stub.requests) == first  # everything came from the store
    assert "Judges: judge-a, judge-b, judge-c (prompt relevance-table21-v1)" in out
    report = json.loads(Path("work/judge_report.json").read_text())
    assert report["calls"]["failed"] == report["calls"]["pending"] == 0
    assert 0 < report["agreement"]["fleiss_kappa_grades"] < 1
    assert 0 < report["agreement"]["discarded_share"] < 1

    assert main(["build", "export", "--in", "work", "--out", "data", "--negatives", "6"]) == 0
    sheet = Path("data/datasheet.md").read_text(encoding="utf-8")
    assert "| MedTEB-Retrieval |" in sheet and f"relevance: {PROMPT_VERSION}" in sheet
    assert "fleiss_kappa_grades" in sheet and "judge-c: judge-c at http://127.0.0.1" in sheet
    assert "documents: read 120" in sheet  # the preparation report is carried to the datasheet
    top = read_jsonl("data/MedTEB-Rerank/top_ranked/test.jsonl")
    assert all(len(t["corpus-ids"]) <= 5 + 6 for t in top)

    # synonym STS from the real CHIP-CDN dictionary and the real queries
    assert main(["build", "import-cdn", str(shared_data / "CHIP-CDN" / "CHIP-CDN_train.json"),
                 "--out", "synonyms.jsonl"]) == 0
    with StubLLM() as stub:
        judges = _judges_file(tmp_path / "gen.json", stub.base_url, ["gen"])
        assert main(["build", "sts", "--in", "work", "--synonyms", "synonyms.jsonl",
                     "--judges", str(judges), "--out", "data", "-v", "0"]) == 0
    sts = read_jsonl("data/MedTEB-STS/sts/test.jsonl")
    assert len(sts) >= 10 and {r["score"] for r in sts} == {0, 1}
    sheet = Path("data/datasheet.md").read_text(encoding="utf-8")
    assert "| MedTEB-STS |" in sheet and "| MedTEB-Retrieval |" in sheet  # merged datasheet

    capsys.readouterr()
    assert main(["run", "-m", "bm25-zh", "--data-dir", "data", "-t", "MedTEB-Retrieval",
                 "MedTEB-Rerank", "MedTEB-STS", "-v", "0"]) == 0
    table = capsys.readouterr().out
    for task in ("MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"):
        score = float(table.split(f"| {task} | ")[1].split(" | ")[1])
        assert 0 < score <= 100
    assert "SAMPLE DATA" not in table


def _judge_work(root: Path, n_queries: int = 40, n_docs: int = 10) -> Path:
    work = root / "work"
    write_jsonl(work / "queries.jsonl", [{"_id": f"q{i}", "text": f"第{i}个问题：高血压能吃党参吗"}
                                         for i in range(n_queries)])
    write_jsonl(work / "corpus.jsonl", [{"_id": f"d{j}", "text": f"第{j}篇：高血压病人可以吃党参"
                                         if j % 2 else f"第{j}篇：感冒多喝水"}
                                        for j in range(n_docs)])
    write_jsonl(work / "pool.jsonl", [{"query_id": f"q{i}", "candidates": [
        {"doc_id": f"d{j}", "found_by": {"x": j + 1}} for j in range(n_docs)]}
        for i in range(n_queries)])
    return work


def _judge_cmd(work: Path, judges: Path) -> list[str]:
    return [sys.executable, "-c", "import sys; from medteb.cli import main; "
            "sys.exit(main(sys.argv[1:]))", "build", "judge", "--in", str(work), "--judges",
            str(judges), "--passages-per-request", "2", "-v", "0"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_mid_run_and_restarted_gives_identical_output(tmp_path: Path, stub_key: None,
                                                             sig: int) -> None:
    names = ["judge-a", "judge-b"]
    with StubLLM(fault_rate=0.1, hang_s=1.5) as stub:  # reference: one uninterrupted run
        ref = _judge_work(tmp_path / "ref")
        judges = _judges_file(tmp_path / "j.json", stub.base_url, names)
        assert subprocess.run(_judge_cmd(ref, judges), cwd=ROOT, capture_output=True,
                              env=os.environ).returncode == 0
    expected = (ref / "judgments.jsonl").read_bytes()
    total = 2 * 40 * 5  # judges x queries x calls per query

    with StubLLM(fault_rate=0.1, hang_s=1.5, latency_s=0.02) as stub:
        work = _judge_work(tmp_path / "run")
        judges = _judges_file(tmp_path / "j2.json", stub.base_url, names)
        proc = subprocess.Popen(_judge_cmd(work, judges), cwd=ROOT, env=os.environ,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(stub.served()) < total // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        stored = (work / "llm_responses.jsonl").read_text(encoding="utf-8").count("}\n")
        assert 0 < stored < total, "the kill must land mid-run"
        assert not (work / "judgments.jsonl").exists()
        if sig == signal.SIGTERM:
            assert proc.returncode == 130 and b"finished work is saved" in err
        rerun = subprocess.run(_judge_cmd(work, judges), cwd=ROOT, capture_output=True,
                               env=os.environ)
        assert rerun.returncode == 0, rerun.stderr.decode()
        served = stub.served()
    assert (work / "judgments.jsonl").read_bytes() == expected
    assert len(served) == total
    repeated = [h for h, n in served.items() if n > 1]
    if sig == signal.SIGTERM:
        assert repeated == []  # graceful: in-flight calls were stored before exiting
    else:  # SIGKILL can only lose the calls in flight at that moment (<= total concurrency)
        assert len(repeated) <= 2 * 4


def test_build_errors_are_one_line_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                stub_key: None) -> None:
    work = tmp_path / "w"
    write_jsonl(work / "queries.jsonl", [{"_id": "q1", "text": "头痛"}])
    write_jsonl(work / "corpus.jsonl", [{"_id": "d1", "text": "休息"}])
    judges = _judges_file(tmp_path / "j.json", "http://127.0.0.1:9/v1", ["a"])
    assert main(["build", "judge", "--in", str(work), "--judges", str(judges)]) == 2
    assert "pool.jsonl: missing; it is produced by `medteb build pool`" in capsys.readouterr().err
    write_jsonl(work / "pool.jsonl", [{"query_id": "q9", "candidates": [{"doc_id": "d1"}]}])
    assert main(["build", "judge", "--in", str(work), "--judges", str(judges)]) == 2
    assert "pool: query 'q9' not in the queries file" in capsys.readouterr().err
    assert main(["build", "prepare", "--out", str(work)]) == 2
    assert "give --queries FILE and/or --documents FILE" in capsys.readouterr().err
    write_jsonl(work / "judgments.jsonl", [{"query_id": "q1", "doc_id": "d1", "label": 0}])
    assert main(["build", "export", "--in", str(work), "--out", str(tmp_path / "o")]) == 2
    assert "no query has a positive" in capsys.readouterr().err


def test_build_modules_import_light_and_help_lists_the_stages(
        capsys: pytest.CaptureFixture) -> None:
    code = ("import sys, medteb.cli.build.pipeline, medteb.cli.build.synonyms_audit, "
            "medteb.build.audit, medteb.build.diversify, medteb.build.sts; print(sorted(m for m in ('mteb', 'torch', "
            "'openai', 'faiss', 'datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    text = capsys.readouterr().out
    for stage in ("prepare", "diversify", "pool", "judge", "export", "import-cdn", "sts",
                  "audit"):
        assert f"    {stage}" in text


def test_sigterm_handler_is_restored_after_a_stage() -> None:
    from medteb.cli.build.common import graceful_termination

    before = signal.getsignal(signal.SIGTERM)
    with graceful_termination():
        assert signal.getsignal(signal.SIGTERM) is not before
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


def _one_line_error(capsys: pytest.CaptureFixture) -> str:
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("medteb: error: ")
    return line


def test_empty_input_stops_at_the_first_stage_that_reads_it(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "short.txt").write_text("痛\n咳\n", encoding="utf-8")
    assert main(["build", "prepare", "--queries", str(tmp_path / "empty.txt"), "--out",
                 str(tmp_path / "w")]) == 2
    assert "empty.txt: no queries in it (an empty input); nothing to build" in \
        _one_line_error(capsys)
    assert main(["build", "prepare", "--queries", str(tmp_path / "short.txt"), "--out",
                 str(tmp_path / "w")]) == 2
    assert "short.txt: none of its 2 queries was kept (dropped: " in _one_line_error(capsys)
    assert not (tmp_path / "w").exists()
    work = tmp_path / "work"  # a work folder whose files are empty (written by hand)
    write_jsonl(work / "queries.jsonl", [])
    write_jsonl(work / "corpus.jsonl", [{"_id": "d1", "text": "多休息"}])
    assert main(["build", "pool", "--in", str(work), "-r", "bm25-zh"]) == 2
    assert "queries.jsonl: empty (no records); `medteb build prepare` writes it" in \
        _one_line_error(capsys)
    write_jsonl(work / "queries.jsonl", [{"_id": "q1", "text": "头痛怎么办"}])
    write_jsonl(work / "pool.jsonl", [])
    assert main(["build", "judge", "--in", str(work), "--judges", str(
        _judges_file(tmp_path / "j.json", "http://127.0.0.1:9/v1", ["a"]))]) == 2
    assert "pool.jsonl: empty (no records); `medteb build pool` writes it" in \
        _one_line_error(capsys)


def test_non_utf8_work_file_names_the_file_and_encoding(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    work = _judge_work(tmp_path, n_queries=1, n_docs=1)
    (work / "queries.jsonl").write_bytes('{"_id": "q0", "text": "高血压"}\n'.encode("gb18030"))
    judges = _judges_file(tmp_path / "j.json", "http://127.0.0.1:9/v1", ["a"])
    assert main(["build", "judge", "--in", str(work), "--judges", str(judges)]) == 2
    line = _one_line_error(capsys)
    assert f"{work / 'queries.jsonl'}: not UTF-8 (" in line and "--encoding gb18030" in line


def test_dead_judge_is_incomplete_and_export_refuses(tmp_path: Path, stub_key: None,
                                                     capsys: pytest.CaptureFixture) -> None:
    work = _judge_work(tmp_path, n_queries=3, n_docs=4)
    with StubLLM(always_status=500) as stub:
        judges = _judges_file(tmp_path / "j.json", stub.base_url, ["judge-a"], max_retries=8)
        assert main(["build", "judge", "--in", str(work), "--judges", str(judges),
                     "--max-consecutive-failures", "2", "-v", "0"]) == 1
    out = capsys.readouterr().out
    assert ("judge judge-a: stopped after 2 failed requests in a row; last error: HTTP 500: "
            "upstream is down") in out
    assert "incomplete: 3 call(s) pending (run the same command again" in out
    report = json.loads((work / "judge_report.json").read_text())
    assert report["stopped"]["judge-a"].startswith("stopped after 2 failed requests")
    assert main(["build", "export", "--in", str(work), "--out", str(tmp_path / "o")]) == 2
    assert ("the build is incomplete (12 pending pair(s)): finish `medteb build judge` (rerun "
            "it; --retry-failures for failed calls), or pass --allow-incomplete") in \
        _one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_failed_calls_are_incomplete_too_and_the_datasheet_says_what_was_dropped(
        tmp_path: Path, stub_key: None, capsys: pytest.CaptureFixture) -> None:
    work = _judge_work(tmp_path, n_queries=3, n_docs=4)
    queries = read_jsonl(work / "queries.jsonl")
    queries[0]["text"] += "永远乱码"  # always answered with malformed content: failed calls
    write_jsonl(work / "queries.jsonl", queries)
    with StubLLM() as stub:
        judges = _judges_file(tmp_path / "j.json", stub.base_url, ["judge-a"])
        assert main(["build", "judge", "--in", str(work), "--judges", str(judges),
                     "--passages-per-request", "3", "-v", "0"]) == 1  # as pending calls do
    assert "incomplete: 0 call(s) pending (run the same command again to finish them), 2 " \
           "failed (add --retry-failures to ask again)" in capsys.readouterr().out
    out = tmp_path / "o"
    assert main(["build", "export", "--in", str(work), "--out", str(out)]) == 2
    assert "(4 failed pair(s))" in _one_line_error(capsys)
    assert main(["build", "export", "--in", str(work), "--out", str(out),
                 "--allow-incomplete"]) == 0
    sheet = json.loads((out / "datasheet.json").read_text())
    assert sheet["incomplete"] == {"failed pairs dropped": 4}
    judging = sheet["judging"]
    assert judging["passages_per_request"] == 3 and judging["max_consecutive_failures"] == 5
    assert judging["relevant"] == ["A", "S"] and judging["retry_failures"] is False
    assert judging["judge judge-a"]["parse_retries"] == 2
    text = (out / "datasheet.md").read_text()
    assert "## Judging parameters" in text and "- passages_per_request: 3" in text
    assert "## Incomplete build (exported with --allow-incomplete)" in text

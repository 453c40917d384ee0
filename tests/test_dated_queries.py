"""Dated queries: an optional "date" on queries.jsonl rows, validated, carried by medteb build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medteb.benchmark.data.formats import date_problem, read_retrieval
from medteb.build.export import plan_export, validate_export, write_files
from medteb.build.prepare import prepare_texts, read_raw
from medteb.errors import BuildInputError, DataValidationError


def _task(root: Path, queries: list[dict]) -> Path:
    root.mkdir(parents=True)
    (root / "queries.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
    (root / "corpus.jsonl").write_text('{"_id": "d1", "text": "多喝水多休息"}\n',
                                       encoding="utf-8")
    (root / "qrels").mkdir()
    (root / "qrels/test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q['_id']}\td1\t1\n" for q in queries))
    return root


def test_dates_are_read_per_query_and_optional(tmp_path: Path) -> None:
    folder = _task(tmp_path / "T", [{"_id": "q1", "text": "感冒多久能好", "date": "2025-03-01"},
                                    {"_id": "q2", "text": "发烧怎么办"}])
    data = read_retrieval(folder, "test", reranking=False)
    assert data.query_dates == {"q1": "2025-03-01"}
    assert [q["id"] for q in data.queries] == ["q1", "q2"]


@pytest.mark.parametrize(("value", "message"), [
    ("2025-13-01", r'"date" "2025-13-01" is not a calendar date'),
    ("2025-02-30", r'"date" "2025-02-30" is not a calendar date'),
    ("2025/03/01", r'"date" must be a "YYYY-MM-DD" string, got "2025/03/01"'),
    (20250301, r'"date" must be a "YYYY-MM-DD" string, got 20250301'),
    (None, r'"date" must be a "YYYY-MM-DD" string, got null'),
])
def test_bad_dates_are_reported_with_their_line(tmp_path: Path, value: object,
                                                message: str) -> None:
    folder = _task(tmp_path / "T", [{"_id": "q1", "text": "感冒多久能好"},
                                    {"_id": "q2", "text": "发烧怎么办", "date": value}])
    with pytest.raises(DataValidationError, match="queries.jsonl line 2: " + message):
        read_retrieval(folder, "test", reranking=False)
    assert date_problem("2024-02-29") is None


def test_build_carries_dates_from_raw_input_to_the_exported_task(tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text("q,asked\n感冒多久能好呀,2025-03-01\n发烧了怎么办呢,\n", encoding="utf-8")
    rows = read_raw(raw, text_field="q", date_field="asked")
    assert [r["date"] for r in rows] == ["2025-03-01", None]
    queries, _ = prepare_texts(rows, kind="queries", id_prefix="q")
    assert [q.get("date") for q in queries] == ["2025-03-01", None]
    by_id = {q["_id"]: q for q in queries}
    corpus = {"d1": {"_id": "d1", "text": "多喝水多休息"}}
    plan = plan_export([{"query_id": q, "doc_id": "d1", "label": 1} for q in by_id],
                       by_id, corpus)
    write_files(tmp_path / "out", plan.files)
    validate_export(tmp_path / "out", ["MedTEB-Retrieval"])
    data = read_retrieval(tmp_path / "out/MedTEB-Retrieval", "test", reranking=False)
    assert sorted(data.query_dates.values()) == ["2025-03-01"]


def test_bad_raw_dates_stop_prepare(tmp_path: Path) -> None:
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"q": "感冒多久能好", "asked": "2025-03-01"}\n'
                   '{"q": "发烧怎么办", "asked": "March"}\n', encoding="utf-8")
    with pytest.raises(BuildInputError, match=r'raw.jsonl record 2: "date" must be a '
                                              r'"YYYY-MM-DD" string, got "March"'):
        read_raw(raw, text_field="q", date_field="asked")
    (tmp_path / "raw.csv").write_text("q\n感冒\n", encoding="utf-8")
    with pytest.raises(BuildInputError, match=r"no column 'asked'"):
        read_raw(tmp_path / "raw.csv", text_field="q", date_field="asked")
    (tmp_path / "raw.txt").write_text("感冒\n", encoding="utf-8")
    with pytest.raises(BuildInputError, match=r"a .txt file has no fields"):
        read_raw(tmp_path / "raw.txt", date_field="asked")

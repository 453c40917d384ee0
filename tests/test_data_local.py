"""The local data format: every validation error, its message, and the content-hash revision."""

from __future__ import annotations

from pathlib import Path

import pytest

from medteb.benchmark.data.formats import read_retrieval, read_sts
from medteb.errors import DataValidationError, MedtebError
from tests.conftest import write_jsonl, write_qrels

CORPUS = [{"_id": "d1", "text": "感冒多喝水"}, {"_id": "d2", "title": "胃炎", "text": "胃炎要规律饮食"}]
QUERIES = [{"_id": "q1", "text": "感冒怎么办"}, {"_id": "q2", "text": "胃炎吃什么"}]


def make_task(root: Path, *, corpus=CORPUS, queries=QUERIES,
              qrels=(("q1", "d1", 1), ("q2", "d2", 1)), top=None) -> Path:
    write_jsonl(root / "corpus.jsonl", list(corpus))
    write_jsonl(root / "queries.jsonl", list(queries))
    write_qrels(root / "qrels" / "test.tsv", list(qrels))
    if top is not None:
        write_jsonl(root / "top_ranked" / "test.jsonl", top)
    return root


def problems_of(task_dir: Path, **kwargs) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        read_retrieval(task_dir, "test", **{"reranking": False, **kwargs})
    return info.value.problems


def test_valid_retrieval_loads(tmp_path: Path) -> None:
    data = read_retrieval(make_task(tmp_path), "test", reranking=False)
    assert data.corpus == [{"id": "d1", "text": "感冒多喝水", "title": ""},
                           {"id": "d2", "text": "胃炎要规律饮食", "title": "胃炎"}]
    assert data.queries == [{"id": "q1", "text": "感冒怎么办"}, {"id": "q2", "text": "胃炎吃什么"}]
    assert data.relevant_docs == {"q1": {"d1": 1}, "q2": {"d2": 1}}
    assert data.top_ranked is None
    assert len(data.revision) == 16


def test_revision_is_a_content_hash(tmp_path: Path) -> None:
    first = read_retrieval(make_task(tmp_path / "a"), "test", reranking=False).revision
    same = read_retrieval(make_task(tmp_path / "b"), "test", reranking=False).revision
    changed = read_retrieval(make_task(tmp_path / "c", qrels=[("q1", "d1", 2), ("q2", "d2", 1)]),
                             "test", reranking=False).revision
    assert first == same
    assert changed != first


def test_missing_files_are_all_reported(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    problems = problems_of(tmp_path, reranking=True)
    assert problems == ["corpus.jsonl: missing file", "queries.jsonl: missing file",
                        "qrels/test.tsv: missing file", "top_ranked/test.jsonl: missing file"]


def test_error_message_names_file_line_and_format_doc(tmp_path: Path) -> None:
    task = make_task(tmp_path, corpus=[*CORPUS, {"_id": "d1", "text": "重复"}])
    with pytest.raises(DataValidationError, match=r'corpus.jsonl line 3: duplicate _id "d1" '
                                                  r"\(first seen on line 1\).*docs/data_format.md"):
        read_retrieval(task, "test", reranking=False)


def test_error_family() -> None:
    assert issubclass(DataValidationError, MedtebError)
    assert issubclass(DataValidationError, ValueError)


def test_invalid_utf8_and_json(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    with (task / "corpus.jsonl").open("ab") as handle:
        handle.write(b'{"_id": "d3", "text": "\xff\xfe"}\n{"_id": "d4", "text": \n[1, 2]\n')
    problems = problems_of(task)
    assert problems[0].startswith("corpus.jsonl line 3: not valid UTF-8")
    assert problems[1].startswith("corpus.jsonl line 4: invalid JSON (Expecting value")
    assert problems[2] == "corpus.jsonl line 5: expected a JSON object, got list"


def test_missing_nonstring_and_empty_fields(tmp_path: Path) -> None:
    task = make_task(tmp_path, corpus=[*CORPUS, {"text": "没有编号"}, {"_id": 7, "text": "数字编号"},
                                       {"_id": "d5", "text": "  "}])
    assert problems_of(task) == [
        'corpus.jsonl line 3: missing "_id"',
        'corpus.jsonl line 4: "_id" must be a string, got int 7 (quote it)',
        'corpus.jsonl line 5: empty "text"',
    ]


def test_qrels_problems(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    (task / "qrels" / "test.tsv").write_text(
        "qid\tdid\tscore\nq1\td1\t1\nq1\td9\t1\nq9\td1\t1\nq2\td2\tx\nq2\td2\t-1\nq2\td2\nq1\td1\t1\n"
        "q2\td2\t1\n", encoding="utf-8")
    assert problems_of(task) == [
        "qrels/test.tsv line 1: header must be 'query-id<TAB>corpus-id<TAB>score', "
        "got 'qid\\tdid\\tscore'",
        'qrels/test.tsv line 3: corpus-id "d9" is not in corpus.jsonl',
        'qrels/test.tsv line 4: query-id "q9" is not in queries.jsonl',
        "qrels/test.tsv line 5: score 'x' is not an integer",
        "qrels/test.tsv line 6: score -1 is negative (use 0 for judged non-relevant)",
        "qrels/test.tsv line 7: expected 3 tab-separated columns, got 2",
        'qrels/test.tsv line 8: duplicate judgement for ("q1", "d1")',
    ]


def test_query_without_relevant_document(tmp_path: Path) -> None:
    task = make_task(tmp_path, qrels=[("q1", "d1", 1), ("q2", "d2", 0)])
    assert problems_of(task) == [
        'query "q2": has no relevant document (score > 0) in qrels/test.tsv']


def test_query_without_judgement_with_a_single_split(tmp_path: Path) -> None:
    task = make_task(tmp_path, qrels=[("q1", "d1", 1)])
    assert problems_of(task) == ['query "q2": has no judgement in qrels/test.tsv']
    write_qrels(task / "qrels" / "dev.tsv", [("q2", "d2", 1)])  # q2 belongs to another split
    data = read_retrieval(task, "test", reranking=False)
    assert [q["id"] for q in data.queries] == ["q1"]


def test_reranking_candidate_problems(tmp_path: Path) -> None:
    top = [
        {"query-id": "q1", "corpus-ids": ["d2"]},
        {"query-id": "q1", "corpus-ids": ["d1"]},
        {"query-id": "q7", "corpus-ids": ["d1", "d8"]},
        {"query-id": "q2", "corpus-ids": []},
    ]
    task = make_task(tmp_path, top=top)
    assert problems_of(task, reranking=True) == [
        'top_ranked/test.jsonl line 2: duplicate candidate list for query-id "q1"',
        'top_ranked/test.jsonl line 3: query-id "q7" is not in queries.jsonl',
        "top_ranked/test.jsonl line 3: corpus-ids not in corpus.jsonl: d8",
        'top_ranked/test.jsonl line 4: "corpus-ids" must be a non-empty list of strings',
        'query "q1": relevant documents not in its candidate list: d1',
        'query "q2": has no candidate list in top_ranked/test.jsonl',
    ]


def test_valid_reranking_loads(tmp_path: Path) -> None:
    top = [{"query-id": "q1", "corpus-ids": ["d2", "d1"]},
           {"query-id": "q2", "corpus-ids": ["d2"]}]
    data = read_retrieval(make_task(tmp_path, top=top), "test", reranking=True)
    assert data.top_ranked == {"q1": ["d2", "d1"], "q2": ["d2"]}


def test_sts_problems(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "sts" / "test.jsonl", [
        {"sentence1": "高血压", "sentence2": "血压高", "score": 1},
        {"sentence1": "高血压", "sentence2": "血压高", "score": "1"},
        {"sentence1": "高血压", "sentence2": "血压高"},
        {"sentence1": "", "sentence2": "血压高", "score": 0},
        {"sentence1": "高血压", "sentence2": "血压高", "score": 3},
        {"sentence1": "高血压", "sentence2": "血压高", "score": True},
    ])
    with pytest.raises(DataValidationError) as info:
        read_sts(tmp_path, "test", (0, 1))
    assert info.value.problems == [
        'sts/test.jsonl line 2: "score" must be a number, got "1"',
        'sts/test.jsonl line 3: missing "score"',
        'sts/test.jsonl line 4: empty "sentence1"',
        'sts/test.jsonl line 5: "score" 3 is outside [0, 1]',
        'sts/test.jsonl line 6: "score" must be a number, got true',
    ]


def test_sts_missing_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="sts/test.jsonl: missing file"):
        read_sts(tmp_path, "test", (0, 1))
    write_jsonl(tmp_path / "sts" / "test.jsonl", [])
    with pytest.raises(DataValidationError, match="sts/test.jsonl: no sentence pairs"):
        read_sts(tmp_path, "test", (0, 1))


def test_bundled_samples_are_valid() -> None:
    root = Path(__file__).resolve().parents[1] / "tasks"
    retrieval = read_retrieval(root / "MedTEB-Retrieval" / "sample", "test", reranking=False)
    rerank = read_retrieval(root / "MedTEB-Rerank" / "sample", "test", reranking=True)
    sts = read_sts(root / "MedTEB-STS" / "sample", "test", (0, 1))
    assert (len(retrieval.queries), len(retrieval.corpus)) == (40, 151)
    assert (len(rerank.queries), len(rerank.top_ranked or {})) == (30, 30)
    assert len(sts.rows) == 45
    assert sorted({r["score"] for r in sts.rows}) == [0.0, 1.0]

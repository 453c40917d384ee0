"""The cMedQA-layout importer, checked against the raw release read independently."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from medteb.benchmark.data.cmedqa import import_cmedqa_release
from medteb.errors import DataValidationError, MedtebError


def test_cepilepsy_release_counts_and_labels(shared_data: Path, cepilepsy_dirs: Path) -> None:
    with (shared_data / "cEpilepsyQA" / "test_candidates.txt").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    qrels = (cepilepsy_dirs / "MedTEB-Retrieval" / "qrels" / "test.tsv").read_text().splitlines()
    expected = {(f"q{r['question_id']}", f"a{r['ans_id']}") for r in rows if r["label"] == "1"}
    assert {tuple(line.split("\t")[:2]) for line in qrels[1:]} == expected
    assert len(expected) == 490
    corpus = (cepilepsy_dirs / "MedTEB-Retrieval" / "corpus.jsonl").read_text().splitlines()
    assert len(corpus) == 4900
    top = [json.loads(line) for line in
           (cepilepsy_dirs / "MedTEB-Rerank" / "top_ranked" / "test.jsonl").read_text()
           .splitlines()]
    assert len(top) == 490
    first = [f"a{r['ans_id']}" for r in rows if f"q{r['question_id']}" == top[0]["query-id"]]
    assert top[0]["corpus-ids"] == list(dict.fromkeys(first))  # repeats dropped, order kept


def _release(folder: Path, candidates: str) -> Path:
    folder.mkdir()
    (folder / "question.csv").write_text("question_id,content\n1,头痛怎么办\n", encoding="utf-8")
    (folder / "answer.csv").write_text("ans_id,question_id,content\n7,1,多休息\n8,1,吃药\n",
                                       encoding="utf-8")
    (folder / "test_candidates.txt").write_text(candidates, encoding="utf-8")
    return folder


def test_small_release_by_hand(tmp_path: Path) -> None:
    source = _release(tmp_path / "src", "question_id,ans_id,cnt,label\n1,7,0,1\n1,8,1,0\n"
                                        "1,8,2,0\n")
    summary = import_cmedqa_release(source, tmp_path / "out")
    assert (summary.documents, summary.queries, summary.positives, summary.candidates) == \
        (2, 1, 1, 2)
    top = (tmp_path / "out" / "MedTEB-Rerank" / "top_ranked" / "test.jsonl").read_text()
    assert json.loads(top) == {"query-id": "q1", "corpus-ids": ["a7", "a8"]}


def test_import_errors_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(MedtebError, match="not a cMedQA-layout release: missing question.csv"):
        import_cmedqa_release(tmp_path, tmp_path / "out")
    source = _release(tmp_path / "src", "question_id,ans_id,cnt,label\n1,9,0,1\n")
    with pytest.raises(DataValidationError, match=r"test_candidates.txt line 2: unknown ans_id "
                                                  r"'9'"):
        import_cmedqa_release(source, tmp_path / "out")
    source2 = _release(tmp_path / "src2", "question_id,ans_id,cnt,label\n1,7,0,0\n")
    with pytest.raises(DataValidationError, match="question_id '1' has no candidate with label 1"):
        import_cmedqa_release(source2, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src", "src2"]
    (tmp_path / "out").mkdir()
    with pytest.raises(MedtebError, match="already exists"):
        import_cmedqa_release(source, tmp_path / "out")

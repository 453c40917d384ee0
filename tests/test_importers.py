"""The importers (cMedQA layout, CHIP-STS, CHIP-CDN), checked against the raw releases read independently."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from medteb.benchmark.data.cmedqa import import_cmedqa_release
from medteb.cli import main
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
    (tmp_path / "out" / "MedTEB-Rerank").mkdir(parents=True)
    with pytest.raises(MedtebError, match="out/MedTEB-Rerank already exists; import into "
                                          "another data folder or remove it first"):
        import_cmedqa_release(source, tmp_path / "out")


def _json(path: Path, records: list[dict]) -> Path:
    path.write_text("\ufeff" + json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def _lines(path: Path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_chip_sts_by_hand_next_to_a_cmedqa_import(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    source = _release(tmp_path / "src", "question_id,ans_id,cnt,label\n1,7,0,1\n1,8,1,0\n")
    sts = _json(tmp_path / "sts.json", [
        {"id": "1", "text1": "\ufeff糖尿病能吃减肥药吗", "text2": "糖尿病为什么不能吃减肥药",
         "label": "1", "category": "diabetes"},
        {"id": "2", "text1": "乙肝会传染吗", "text2": "高血压吃什么药", "label": "0",
         "category": "hepatitis"}])
    out = tmp_path / "data"
    assert main(["import", "cmedqa", str(source), "-o", str(out)]) == 0
    assert main(["import", "chip-sts", str(sts), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "MedTEB-Retrieval and MedTEB-Rerank: 1 queries, 2 documents, 1 relevant, 2 rerank" in printed
    assert (f"wrote {out}/MedTEB-STS: 2 pairs (1 labelled 1, 1 labelled 0; diabetes 1, "
            "hepatitis 1)") in printed
    assert _lines(out / "MedTEB-STS" / "sts" / "test.jsonl") == [
        {"sentence1": "糖尿病能吃减肥药吗", "sentence2": "糖尿病为什么不能吃减肥药", "score": 1},
        {"sentence1": "乙肝会传染吗", "sentence2": "高血压吃什么药", "score": 0}]
    assert sorted(p.name for p in out.iterdir()) == ["MedTEB-Rerank", "MedTEB-Retrieval",
                                                     "MedTEB-STS"]  # no staging left


def test_chip_cdn_by_hand(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cdn = _json(tmp_path / "cdn.json", [
        {"text": "左膝退变伴游离体", "normalized_result": "膝骨关节病##膝关节游离体"},
        {"text": "右乳腺癌IV期", "normalized_result": "乳腺恶性肿瘤##癌"},
        {"text": "左膝退变伴游离体", "normalized_result": "膝骨关节病"}])  # repeated raw term
    out = tmp_path / "data"
    assert main(["import", "chip-cdn", str(cdn), "-o", str(out)]) == 0
    assert (f"wrote {out}/MedTEB-Retrieval: 2 queries (raw terms), 4 documents (standard "
            "terms), 4 relevant; 1 repeated raw terms merged") in capsys.readouterr().out
    folder = out / "MedTEB-Retrieval"
    assert _lines(folder / "queries.jsonl") == [{"_id": "q1", "text": "左膝退变伴游离体"},
                                                {"_id": "q2", "text": "右乳腺癌IV期"}]
    assert [d["text"] for d in _lines(folder / "corpus.jsonl")] == [
        "膝骨关节病", "膝关节游离体", "乳腺恶性肿瘤", "癌"]
    assert (folder / "qrels" / "test.tsv").read_text().splitlines() == [
        "query-id\tcorpus-id\tscore", "q1\tt1\t1", "q1\tt2\t1", "q2\tt3\t1", "q2\tt4\t1"]


@pytest.mark.parametrize(("release", "records", "message"), [
    ("chip-sts", [{"id": "1", "text1": "a", "text2": "b"}],
     r"x.json: no record has a 'label' \(CHIP-STS's test file is unlabelled; use the dev file"),
    ("chip-sts", [{"id": "1", "text1": "头痛", "text2": "头疼", "label": "1"},
                  {"id": "7", "text1": "头痛", "text2": "头疼", "label": "2"},
                  {"id": "8", "text1": " ", "text2": "头疼", "label": "0"}],
     r"2 problem\(s\): x.json record 2 \(id '7'\): label '2' is not 0 or 1; x.json record 3 "
     r"\(id '8'\): empty text1 or text2"),
    ("chip-cdn", [{"text": "头痛"}], "x.json: no record has a 'normalized_result' \\(CHIP-CDN's "
                                      "test file is unlabelled"),
    ("chip-cdn", [{"text": "头痛", "normalized_result": "头痛"}, {"text": "", "normalized_result":
                                                                 "头痛"}],
     r"x.json record 2: empty text"),
])
def test_import_errors_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture,
                                     release: str, records: list, message: str) -> None:
    source = _json(tmp_path / "x.json", records)
    assert main(["import", release, str(source), "-o", str(tmp_path / "data")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert re.search(message, line)
    assert not (tmp_path / "data").exists()


def test_import_a_file_that_is_not_a_json_list(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "x.json").write_text('{"text": "头痛"}', encoding="utf-8")
    assert main(["import", "chip-cdn", str(tmp_path / "x.json"), "-o", str(tmp_path / "d")]) == 2
    assert "x.json: expected a JSON list of objects with text, normalized_result" in \
        capsys.readouterr().err
    assert main(["import", "chip-sts", str(tmp_path / "nope.json"), "-o", str(tmp_path / "d")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err


def test_real_chip_releases(shared_data: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture) -> None:
    from medteb.benchmark.data.formats import read_retrieval, read_sts

    out = tmp_path / "data"
    assert main(["import", "chip-sts", str(shared_data / "CHIP-STS" / "CHIP-STS_dev.json"),
                 "-o", str(out)]) == 0
    assert main(["import", "chip-cdn", str(shared_data / "CHIP-CDN" / "CHIP-CDN_dev.json"),
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "MedTEB-STS: 4000 pairs (1989 labelled 1, 2011 labelled 0; aids 498" in printed
    raw = json.loads((shared_data / "CHIP-CDN" / "CHIP-CDN_dev.json").read_text("utf-8"))
    expected = {(r["text"].replace("\ufeff", "").strip(), t.strip())
                for r in raw for t in r["normalized_result"].split("##") if t.strip()}
    data = read_retrieval(out / "MedTEB-Retrieval", "test", reranking=False)
    queries = {q["id"]: q["text"] for q in data.queries}
    corpus = {d["id"]: d["text"] for d in data.corpus}
    assert {(queries[q], corpus[d]) for q, docs in data.relevant_docs.items() for d in docs} \
        == expected
    assert f"{len(queries)} queries (raw terms), {len(corpus)} documents" in printed
    assert len(read_sts(out / "MedTEB-STS", "test", (0, 1)).rows) == 4000

"""`medteb contamination`: normalisation, near matching, training formats, report, errors, Ray."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import pytest

from medteb.cli import main
from medteb.contamination.audit import RaySpec, run_audit
from medteb.contamination.index import (
    AuditedText,
    ContaminationError,
    MatchSettings,
    build_index,
    index_from_tasks,
)
from medteb.contamination.normalise import normalise
from medteb.contamination.scan import match_text, near_match
from medteb.contamination.testdata import load_test_tasks
from medteb.contamination.training import make_shards, training_files

from .conftest import SHARED_DATA

Q1 = "孩子发烧三十九度还一直咳嗽要不要去医院"   # 19 characters: 1 edit allowed
Q2 = "感冒了吃阿莫西林管不管用啊医生请回答一下"  # 20 characters: 2 edits allowed
Q3 = "头孢能喝酒吗"                               # 6 characters: exact matches only
D1 = "发烧超过三天或者精神很差的孩子应当尽快就医，医生会查血常规。"
D2 = "阿莫西林是抗生素，对病毒引起的普通感冒没有作用，不建议自行服用。"
D3 = "服用头孢类药物期间及停药后一周内不能饮酒，否则可能出现双硫仑样反应。"


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    task = root / "MedTEB-Retrieval"
    _jsonl(task / "queries.jsonl", [{"_id": "q1", "text": Q1}, {"_id": "q2", "text": Q2},
                                    {"_id": "q3", "text": Q3}])
    _jsonl(task / "corpus.jsonl", [{"_id": "d1", "text": D1}, {"_id": "d2", "text": D2},
                                   {"_id": "d3", "text": D3}])
    (task / "qrels").mkdir()
    (task / "qrels/test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq2\td1\t0\nq3\td3\t1\n",
        encoding="utf-8")
    _jsonl(root / "MedTEB-STS/sts/test.jsonl", [
        {"sentence1": "甲状腺功能亢进症患者可以怀孕吗", "sentence2": "甲亢能怀孕吗", "score": 1}])
    return root


def _audit(data_dir: Path, *train: Path, tmp_path: Path, extra: tuple[str, ...] = ()) -> dict:
    out = tmp_path / "report.json"
    assert main(["contamination", *map(str, train), "--data-dir", str(data_dir),
                 "--format", "json", "--output", str(out), *extra]) == 0
    return json.loads(out.read_text(encoding="utf-8"))["tasks"]


def test_normalise_folds_width_case_space_and_punctuation() -> None:
    assert normalise("ＣＴ 检查，怎么做？") == "ct检查怎么做"
    assert normalise("感冒 多久，能好？\t") == normalise("感冒多久能好?") == "感冒多久能好"
    assert normalise("感冒多久能好") != normalise("感冒多久会好")


def test_near_match_counts_edits_and_containment() -> None:
    assert near_match("感冒了吃阿莫西林管用吗", "感冒了吃阿莫西林有用吗", 1) == 0
    assert near_match("感冒了吃阿莫西林管用吗", "感冒了吃青霉素林有用吗", 1) is None
    assert near_match("阿莫西林管用吗", "网友问阿莫西林管用吗谢谢", 0) == 3
    assert near_match("阿莫西林管用吗", "网友问阿莫西林有用吗谢谢", 0) is None
    assert near_match("阿莫西林管用吗", "网友问阿莫西林有用吗谢谢", 1) is not None
    assert near_match("阿莫西林管用吗", "网友问阿莫西林管不用吗谢谢", 1) is not None  # insertion
    assert near_match("阿莫西林管用吗", "网友问阿莫林管用吗谢谢", 1) is not None      # deletion
    assert near_match("阿莫西林管用吗", "问阿莫西林有用吗", 1) == 1  # a prefix and an edit


def test_ngram_index_misses_no_match_a_brute_force_search_finds() -> None:
    """Candidate generation loses nothing: every random edit within the limit is found."""
    from rapidfuzz.distance import Levenshtein

    rng = random.Random(7)
    alphabet = "发烧咳嗽感冒头痛医院药孩子吃能吗怎么办高血压糖尿病"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(8, 30)))
             for _ in range(60)]
    settings = MatchSettings(max_edits=2, max_edit_fraction=0.1, min_near_chars=8)
    index = build_index([AuditedText("T", "queries", str(i), t) for i, t in enumerate(texts)],
                        [], settings)
    checked = 0
    for position, text in enumerate(texts):
        edits = settings.edits_for(len(text))
        for _ in range(5):
            changed = list(text)
            for _ in range(rng.randint(0, edits)):
                changed[rng.randrange(len(changed))] = rng.choice(alphabet)
            train = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) + \
                "".join(changed)
            assert Levenshtein.distance(text, train[len(train) - len(text):]) <= edits
            assert position in match_text(index, train), (text, train)
            checked += 1
    assert checked == 300


def test_report_finds_exact_near_and_pairs(data_dir: Path, tmp_path: Path) -> None:
    train = _jsonl(tmp_path / "train.jsonl", [
        {"q": Q1 + "？", "a": D1},                                   # q1, d1 exact: a pair
        {"q": Q2.replace("阿莫西林", "阿莫西临"), "a": "无关回答"},      # q2 near (1 edit)
        {"text": "网友提问：" + D2 + "谢谢"},                          # d2 near (inside a line)
        {"q": "头孢能喝酒吗？？"},                                    # q3 exact (short)
        {"q": "头孢能不能喝酒吗", "a": D3},                            # q3 too short for near
        {"x": ["甲状腺功能亢进症患者可以怀孕吗", {"y": "甲亢能怀孕吗"}]},  # an STS row, nested
    ])
    found = _audit(data_dir, train, tmp_path=tmp_path)
    assert found["MedTEB-Retrieval"] == {
        "queries": {"exact": ["q1", "q3"], "near": ["q2"]},
        "documents": {"exact": ["d1", "d3"], "near": ["d2"]},
        "pairs": {"exact": [["q1", "d1"]], "near": []},
    }
    assert found["MedTEB-STS"] == {"queries": {"exact": ["1"], "near": []},
                                   "documents": {"exact": ["1"], "near": []},
                                   "pairs": {"exact": [["1", "1"]], "near": []}}


def test_every_training_format_is_read(data_dir: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset

    (tmp_path / "t.txt").write_text("第一行\n" + Q1 + "\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(f'id,text\n1,"{Q3}"\n', encoding="utf-8")
    (tmp_path / "t.tsv").write_text(f"id\ttext\n1\t{D3}\n", encoding="utf-8")
    pq.write_table(pa.table({"text": ["无关", D1], "n": [1, 2]}), tmp_path / "t.parquet")
    Dataset.from_dict({"question": [Q2], "answer": [D2]}).save_to_disk(tmp_path / "hf")
    files = [tmp_path / n for n in ("t.txt", "t.csv", "t.tsv", "t.parquet", "hf")]
    found = _audit(data_dir, *files, tmp_path=tmp_path)["MedTEB-Retrieval"]
    assert found["queries"]["exact"] == ["q1", "q2", "q3"]
    assert found["documents"]["exact"] == ["d1", "d2", "d3"]
    assert found["pairs"]["exact"] == [["q2", "d2"]]  # the one record holding both


def test_table_report_shows_counts_and_located_examples(data_dir: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    train = _jsonl(tmp_path / "train.jsonl", [{"a": "无关"}, {"a": "无关"}, {"q": Q1}])
    assert main(["contamination", str(train), "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "| MedTEB-Retrieval | queries | 3 | 1 | 0 |" in out
    assert f"MedTEB-Retrieval queries exact `q1` at {train} line 3" in out


def test_fail_on_contamination_exit_status(data_dir: Path, tmp_path: Path) -> None:
    dirty = _jsonl(tmp_path / "dirty.jsonl", [{"q": Q1}])
    clean = _jsonl(tmp_path / "clean.jsonl", [{"q": "完全无关的一句话"}])
    args = ["--data-dir", str(data_dir), "--fail-on-contamination", "--format", "json"]
    assert main(["contamination", str(dirty), *args]) == 1
    assert main(["contamination", str(clean), *args]) == 0


def test_thresholds_are_configurable(data_dir: Path, tmp_path: Path) -> None:
    train = _jsonl(tmp_path / "t.jsonl", [{"q": Q1.replace("咳嗽", "咳簌")}])  # 1 edit
    assert _audit(data_dir, train, tmp_path=tmp_path)[
        "MedTEB-Retrieval"]["queries"]["near"] == ["q1"]
    strict = _audit(data_dir, train, tmp_path=tmp_path, extra=("--max-edits", "0"))
    assert strict["MedTEB-Retrieval"]["queries"]["near"] == []


def test_shards_merge_to_the_single_file_report(data_dir: Path, tmp_path: Path) -> None:
    rows = [{"q": f"无关的第{i}行文字"} for i in range(400)]
    rows[123], rows[300], rows[301] = {"q": Q1}, {"q": Q2[:-1] + "吧"}, {"q": Q1}
    train = _jsonl(tmp_path / "t.jsonl", rows)
    index = index_from_tasks(load_test_tasks(data_dir), MatchSettings())
    files = training_files([str(train)])
    whole = run_audit(index, make_shards(files), progress=False)
    pieces = make_shards(files, shard_bytes=500)
    assert len(pieces) > 20
    sharded = run_audit(index, pieces, progress=False)
    assert sharded.to_dict() == whole.to_dict()
    assert sharded.examples == whole.examples
    assert [e.location for e in whole.examples] == [f"{train} line 124", f"{train} line 301"]
    assert sharded.records == whole.records == 400


def test_ray_workers_give_the_single_process_report(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    rows = [{"q": f"无关的第{i}行文字"} for i in range(300)]
    rows[10], rows[250] = {"q": Q1, "a": D1}, {"q": Q2[:-1] + "吧"}
    train = _jsonl(tmp_path / "t.jsonl", rows)
    index = index_from_tasks(load_test_tasks(data_dir), MatchSettings())
    shards = make_shards(training_files([str(train)]), shard_bytes=700)
    local = run_audit(index, shards, progress=False)
    remote = run_audit(index, shards, ray=RaySpec(workers=2), progress=False)
    assert remote.to_dict() == local.to_dict()
    assert remote.examples == local.examples
    assert local.contaminated
    bad = _jsonl(tmp_path / "bad.jsonl", [{"q": "x"}])
    bad.write_text('{"q": "x"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ContaminationError, match=r"bad.jsonl \(line 2 after byte 0\): invalid"):
        run_audit(index, make_shards(training_files([str(bad)])), ray=RaySpec(workers=1),
                  progress=False)


@pytest.mark.parametrize(("setup", "message"), [
    (lambda p: p / "missing.jsonl", r"missing.jsonl: no such training file or folder"),
    (lambda p: (p / "t.docx").write_bytes(b"x") and p / "t.docx",
     r"t.docx: unknown training file type '.docx'; give .csv"),
    (lambda p: (p / "empty").mkdir() or p / "empty", r"empty: no training files in this folder"),
    (lambda p: (p / "e.jsonl").write_text("\n\n") and p / "e.jsonl",
     r"empty training set: no records in .*e.jsonl"),
    (lambda p: (p / "b.jsonl").write_text('{"a": 1}\n{oops\n') and p / "b.jsonl",
     r"b.jsonl \(line 2 after byte 0\): invalid JSON"),
    (lambda p: (p / "g.txt").write_bytes("发烧".encode("gb18030")) and p / "g.txt",
     r"g.txt \(line 1 after byte 0\): not utf-8 .*--encoding"),
    (lambda p: (p / "c.csv").write_bytes("发烧".encode("gb18030")) and p / "c.csv",
     r"c.csv: not utf-8 .*--encoding"),
    (lambda p: (p / "x.parquet").write_bytes(b"not parquet") and p / "x.parquet",
     r"x.parquet: unreadable parquet file"),
])
def test_bad_training_input_is_one_line_and_writes_nothing(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture, setup, message) -> None:
    train = setup(tmp_path)
    out = tmp_path / "report.json"
    assert main(["contamination", str(train), "--data-dir", str(data_dir),
                 "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert re.search(message, err), err
    assert not out.exists()


def test_unreadable_training_file(data_dir: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    train = _jsonl(tmp_path / "t.jsonl", [{"q": Q1}])
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != train and real_access(p, mode))
    with pytest.raises(ContaminationError, match=r"t.jsonl: not readable \(permission denied\)"):
        training_files([str(train)])


@pytest.mark.parametrize(("argv", "message"), [
    (["--max-edits", "-1"], r"--max-edits must be >= 0, got -1"),
    (["--max-edit-fraction", "1.5"], r"--max-edit-fraction must be in \[0, 1\], got 1.5"),
    (["--min-near-chars", "2"], r"--min-near-chars \(2\) must be at least --ngram \(3\)"),
    (["--ray-workers", "2"], r"--ray-workers and --ray-address only apply with --ray"),
    (["--encoding", "nope"], r"--encoding 'nope': unknown encoding"),
    (["-t", "MedTEB-Retrieve"], r"not a MedTEB task: MedTEB-Retrieve"),
])
def test_bad_settings_are_refused(data_dir: Path, tmp_path: Path, capsys, argv, message) -> None:
    train = _jsonl(tmp_path / "t.jsonl", [{"q": Q1}])
    assert main(["contamination", str(train), "--data-dir", str(data_dir), *argv]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_test_data_must_be_given(tmp_path: Path) -> None:
    with pytest.raises(ContaminationError, match=r"no test data: pass --data-dir DIR"):
        load_test_tasks(None)
    (tmp_path / "other").mkdir()
    with pytest.raises(ContaminationError, match=r"holds none of the MedTEB task folders"):
        load_test_tasks(tmp_path)


@pytest.mark.skipif(not (SHARED_DATA / "Chinese-medical-dialogue-sample").is_dir(),
                    reason="../shared/data (real public medical data) is absent")
def test_real_gb18030_dialogue_csv(tmp_path: Path) -> None:
    import csv
    source = next((SHARED_DATA / "Chinese-medical-dialogue-sample").glob("*.csv"))
    with source.open(encoding="gb18030") as handle:
        rows = list(csv.DictReader(handle))
    root = tmp_path / "data" / "MedTEB-Retrieval"
    _jsonl(root / "queries.jsonl", [{"_id": "q1", "text": rows[99]["title"]}])
    _jsonl(root / "corpus.jsonl", [{"_id": "d1", "text": rows[99]["answer"]}])
    (root / "qrels").mkdir()
    (root / "qrels/test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    found = _audit(tmp_path / "data", source, tmp_path=tmp_path,
                   extra=("--encoding", "gb18030"))["MedTEB-Retrieval"]
    assert "q1" in found["queries"]["exact"] and found["pairs"]["exact"] == [["q1", "d1"]]

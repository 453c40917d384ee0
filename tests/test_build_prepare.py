"""Stage 1 (prepare) and stage 2 (diversify): anonymisation per identifier, cleaning, dedupe,
near-duplicate filtering against hand-computed neighbours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medteb.build.diversify import DiversifyParams, diversify, select_diverse
from medteb.build.prepare import anonymise, clean, prepare_texts, read_raw, valid_id_number
from medteb.errors import BuildInputError

# a valid ID number (check digit computed by ISO 7064 MOD 11-2) and a Luhn-valid card number
ID_OK = "440301199003071230"
CARD_OK = "6222020200112233446"


@pytest.mark.parametrize(("text", "masked", "kind"), [
    ("我的手机13812345678有事打", "我的手机[PHONE]有事打", "phone"),
    ("手机+86 138-1234-5678", "手机[PHONE]", "phone"),
    ("座机010-12345678，或(0755)87654321", "座机[PHONE]，或[PHONE]", "phone"),
    (f"身份证号{ID_OK}。", "身份证号[ID]。", "id_number"),
    ("身份证11010519491231002x", "身份证[ID]", "id_number"),
    ("邮箱zhang.san+med@example.com.cn谢谢", "邮箱[EMAIL]谢谢", "email"),
    ("看这里https://example.com/a?b=1&c=2 说明", "看这里[URL] 说明", "url"),
    ("网址www.haodf.com/doctor", "网址[URL]", "url"),
    (f"卡号{CARD_OK}", "卡号[CARD]", "bank_card"),
    ("加我QQ：123456789", "加我QQ：[QQ]", "qq"),
    ("微信号: zhang_san88 联系", "微信号: [WECHAT] 联系", "wechat"),
])
def test_anonymise_each_identifier_kind(text: str, masked: str, kind: str) -> None:
    out, counts = anonymise(text)
    assert out == masked
    assert counts == {kind: masked.count("[")}


@pytest.mark.parametrize("text", [
    "血压150/95mmHg，心率88次",          # medical numbers are not identifiers
    "440301199003071231",                 # wrong check digit
    "440301199013071238",                 # month 13: not a birth date
    "6222020200112233445",                # fails the Luhn check
    "2023年12月的化验单编号12345",        # short numbers stay
    "服用阿司匹林100mg，每日1次",
])
def test_anonymise_leaves_non_identifiers(text: str) -> None:
    assert anonymise(text) == (text, {})


def test_valid_id_number() -> None:
    assert valid_id_number(ID_OK) and valid_id_number("11010519491231002X")
    assert not valid_id_number("11010519491231002") and not valid_id_number("1101051949123100XX")


def test_clean_and_prepare_counts_each_reason() -> None:
    assert clean(" 头痛\u3000\u3000怎么办\t\n啊\x00\u200b ") == "头痛 怎么办 啊"
    rows = [{"text": "头痛怎么办啊"}, {"text": "  头痛怎么办啊 "}, {"text": "\u3000"},
            {"text": None}, {"text": "嗯嗯"}, {"text": "电话13812345678找我"},
            {"text": "电话13900001111找我"}, {"text": "腹泻吃什么药", "_id": "x1"},
            {"text": "腹泻吃什么药好", "_id": "x1"}]
    kept, report = prepare_texts(rows, kind="queries", id_prefix="q", min_chars=5)
    assert [r["text"] for r in kept] == ["头痛怎么办啊", "电话[PHONE]找我", "腹泻吃什么药"]
    assert report.dropped == {"duplicate": 2, "empty": 2, "too_short": 1, "duplicate_id": 1}
    assert report.masked == {"phone": 1} and report.read == 9 and report.kept == 3
    assert kept[0]["_id"].startswith("q") and len(kept[0]["_id"]) == 13 and kept[2]["_id"] == "x1"
    again, _ = prepare_texts(reversed(rows[:2]), kind="queries", id_prefix="q")
    assert again[0]["_id"] == kept[0]["_id"]  # ids follow the text, not the position
    assert "dropped: duplicate 2, duplicate_id 1, empty 2, too_short 1" in report.to_markdown()


def test_read_raw_formats_and_errors(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("第一行\n第二行\n", encoding="utf-8")
    assert read_raw(tmp_path / "a.txt") == [{"text": "第一行\n"}, {"text": "第二行\n"}]
    (tmp_path / "a.csv").write_text("id,ask\n7,胃痛\n8,头晕\n", encoding="gb18030")
    rows = read_raw(tmp_path / "a.csv", text_field="ask", id_field="id", encoding="gb18030",
                    limit=1)
    assert rows == [{"text": "胃痛", "_id": "7"}]
    with pytest.raises(BuildInputError, match=r"a.csv: not valid utf-8 .* pass the file's encoding, e.g. --encoding gb18030"):
        read_raw(tmp_path / "a.csv", text_field="ask")
    with pytest.raises(BuildInputError, match="a.csv: no column 'question'; the columns are id, ask"):
        read_raw(tmp_path / "a.csv", text_field="question", encoding="gb18030")
    (tmp_path / "b.jsonl").write_text('{"text": "x"}\n[1]\n', encoding="utf-8")
    with pytest.raises(BuildInputError, match="b.jsonl line 2: expected a JSON object"):
        read_raw(tmp_path / "b.jsonl")
    with pytest.raises(BuildInputError, match="nope.txt: no such file"):
        read_raw(tmp_path / "nope.txt")


def test_read_raw_real_dialogue_csv_is_gb18030(shared_data: Path) -> None:
    csv = next((shared_data / "Chinese-medical-dialogue-sample").glob("*.csv"))
    rows = read_raw(csv, text_field="title", encoding="gb18030", limit=3)
    assert rows[0]["text"] == "高血压患者能吃党参吗？"


# Hand-built vectors (already unit length). Cosines with e0: a = 0.9, b = 0.95, c = 0.8.
E0 = [1.0, 0.0, 0.0]
A = [0.9, float(np.sqrt(1 - 0.81)), 0.0]
B = [0.95, 0.0, float(np.sqrt(1 - 0.9025))]
C = [0.8, 0.6, 0.0]


def test_diversify_against_hand_computed_neighbours() -> None:
    # cos(a, b) = 0.855; cos(a, c) = 0.72 + 0.6 * 0.4359 = 0.9815; cos(b, c) = 0.76
    vectors = np.array([E0, A, B, C, [0.0, 0.0, 1.0]], dtype=np.float32)
    # n=1, t=0.85: e0 kept; a has 1 close kept (e0: 0.9) -> kept; b: e0 0.95, a 0.855 -> 2 > 1,
    # dropped; c: e0 0.8, a 0.9815 -> 1 -> kept; the orthogonal one is kept
    kept, dropped = select_diverse(vectors, DiversifyParams(k=5, t=0.85, n=1))
    assert kept == [0, 1, 3, 4] and dropped == [(2, [0, 1])]
    # n=0: the first close neighbour is enough; a (0.9 with e0) and b go, c (0.8) stays
    kept, _ = select_diverse(vectors, DiversifyParams(k=5, t=0.85, n=0))
    assert kept == [0, 3, 4]
    # k=1 only sees the nearest kept neighbour, so "more than 1" never holds
    kept, _ = select_diverse(vectors, DiversifyParams(k=1, t=0.85, n=1))
    assert kept == [0, 1, 2, 3, 4]
    # t=0.78 (the documents' default): c is above it with e0 and a -> dropped
    kept, _ = select_diverse(vectors, DiversifyParams(k=5, t=0.78, n=1))
    assert kept == [0, 1, 4]
    # scale does not matter: rows are normalised
    kept, _ = select_diverse(vectors * 7, DiversifyParams(k=5, t=0.85, n=1))
    assert kept == [0, 1, 3, 4]
    with pytest.raises(BuildInputError, match="need k >= 1"):
        DiversifyParams(k=0)


def test_diversify_with_an_embedder_object_and_a_real_model() -> None:
    class Fixed:
        def encode(self, texts: list[str]) -> np.ndarray:
            return np.array([{"e0": E0, "a": A, "b": B}[t] for t in texts])

    rows = {"x": {"text": "e0"}, "y": {"text": "a"}, "z": {"text": "b"}}
    kept, report = diversify(rows, Fixed(), DiversifyParams(), as_queries=True)
    assert kept == ["x", "y"]
    assert report.to_dict()["examples"] == [{"dropped": "z", "text": "b",
                                              "similar_to": ["x", "y"]}]

    from medteb.models import load_model

    rows = {"1": {"text": "高血压能吃党参吗"}, "2": {"text": "高血压能吃党参吗？"},
            "3": {"text": "高血压可以吃党参吗"}, "4": {"text": "孩子发烧怎么办"}}
    kept, _ = diversify(rows, load_model("bm25-zh"), DiversifyParams(k=5, t=0.85, n=0),
                        as_queries=True)
    assert kept[0] == "1" and "2" not in kept and "4" in kept


def test_diversify_seeded_index_drops_near_duplicates_of_existing_data() -> None:
    # seed: e0. Candidates a (0.9 with e0), c (0.8 with e0, 0.98 with a), orthogonal z.
    # n=0, t=0.85: a is too close to the seed; c is then compared with e0 only (0.8) -> kept
    vectors = np.array([A, C, [0.0, 0.0, 1.0]], dtype=np.float32)
    kept, dropped = select_diverse(vectors, DiversifyParams(k=5, t=0.85, n=0),
                                   seed=np.array([E0], dtype=np.float32))
    assert kept == [1, 2] and dropped == [(0, [-1])]
    with pytest.raises(BuildInputError, match="seed vectors have 2 dimensions, the candidates 3"):
        select_diverse(vectors, DiversifyParams(), seed=np.ones((1, 2), dtype=np.float32))

    class Fixed:
        def encode(self, texts: list[str]) -> np.ndarray:
            return np.array([{"e0": E0, "a": A, "c": C}[t] for t in texts])

    kept_ids, report = diversify({"x": {"text": "a"}, "y": {"text": "c"}}, Fixed(),
                                 DiversifyParams(n=0), as_queries=False,
                                 seed_rows={"old1": {"text": "e0"}})
    assert kept_ids == ["y"] and report.examples[0]["similar_to"] == ["seed:old1"]


def test_atomic_writes_leave_no_temp_files_and_the_usual_mode(tmp_path: Path) -> None:
    import os

    from medteb.build.io import write_jsonl

    write_jsonl(tmp_path / "a" / "x.jsonl", [{"_id": "1", "text": "头痛"}])
    write_jsonl(tmp_path / "a" / "x.jsonl", [{"_id": "2", "text": "发烧"}])
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.jsonl"]
    assert (tmp_path / "a" / "x.jsonl").read_text(encoding="utf-8") == \
        '{"_id": "2", "text": "发烧"}\n'
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a" / "x.jsonl").stat().st_mode & 0o777 == 0o666 & ~mask


def test_cached_embedder_encodes_each_text_set_once(tmp_path: Path) -> None:
    from medteb.build.diversify import CachedEmbedder

    calls = []

    class Counting:
        def encode(self, texts: list[str]) -> np.ndarray:
            calls.append(list(texts))
            return np.array([{"e0": E0, "a": A}[t] for t in texts])

    embedder = CachedEmbedder(Counting(), "m", tmp_path / "emb", as_queries=True)
    first = embedder.encode(["e0", "a"])
    again = CachedEmbedder(Counting(), "m", tmp_path / "emb", as_queries=True).encode(["e0", "a"])
    assert calls == [["e0", "a"]] and np.array_equal(first, again)
    CachedEmbedder(Counting(), "m", tmp_path / "emb", as_queries=False).encode(["e0", "a"])
    CachedEmbedder(Counting(), "m2", tmp_path / "emb", as_queries=True).encode(["e0", "a"])
    assert len(calls) == 3 and len(list((tmp_path / "emb").glob("*.npy"))) == 3

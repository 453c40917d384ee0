"""``medteb export hf-dataset --public-only``: the publishable part carries no label."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medteb.cli import main

PUBLIC_COLUMNS = {"corpus": {"_id", "title", "text"}, "queries": {"_id", "text"},
                  "top_ranked": {"query-id", "corpus-ids"}, "data": {"sentence1", "sentence2"}}


def _tables(root: Path) -> dict[str, set[str]]:
    import pyarrow.parquet as pq

    return {p.relative_to(root).as_posix(): set(pq.read_schema(p).names)
            for p in sorted(root.rglob("*.parquet"))}


@pytest.mark.parametrize("public", [True, False])
def test_public_export_has_no_label(tmp_path: Path, capsys: pytest.CaptureFixture,
                                    public: bool) -> None:
    argv = ["export", "hf-dataset", "--data-dir", "sample", "--out", str(tmp_path)]
    assert main([*argv, "--public-only"] if public else argv) == 0
    tables = _tables(tmp_path)
    assert any(name.startswith("MedTEB-Rerank/top_ranked/") for name in tables)
    with_labels = {n for n, columns in tables.items() if "score" in columns or "/qrels/" in n}
    cards = {p.parent.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*/README.md")}
    if not public:  # the full export has them: the check below can fail
        assert with_labels and not any("## Hidden labels" in c for c in cards.values())
        return
    assert with_labels == set()
    for name, columns in tables.items():
        assert columns == PUBLIC_COLUMNS[name.split("/")[1]], name
    assert all("## Hidden labels" in card and "qrels/" not in card for card in cards.values())
    for task in ("MedTEB-Retrieval", "MedTEB-Rerank"):
        rows = json.loads((tmp_path / task / "medteb_export.json").read_text())["rows"]
        assert set(rows) <= {"corpus", "queries", "top_ranked"}, rows


def test_label_free_data_exports_only_as_public(tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    from tests.test_hidden_labels import _public_and_labels

    public, labels = _public_and_labels(tmp_path)
    argv = ["export", "hf-dataset", "--data-dir", str(public)]
    assert main([*argv, "--out", str(tmp_path / "full")]) == 2
    assert "has no labels (the public part of a hidden-label release); export it with " \
           "--public-only" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "a"), "--public-only"]) == 0
    assert main(["export", "hf-dataset", "--data-dir", str(labels), "--out",
                 str(tmp_path / "b"), "--public-only"]) == 0
    a, b = _tables(tmp_path / "a"), _tables(tmp_path / "b")
    assert a == b and a  # the same publishable part, from the labels or from the public data
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file())
    assert {f.name for f in files} >= {"README.md", "medteb_export.json"}
    for name in files:  # the card and record too: they name the public data's own hash
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    revision = json.loads((tmp_path / "a" / "MedTEB-STS" / "medteb_export.json").read_text())[
        "source_revision"]
    assert revision.startswith("public-")
    sts = public / "MedTEB-STS" / "sts" / "test.jsonl"  # other public data: another hash
    lines = sts.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    sts.write_text("\n".join([json.dumps({**first, "sentence1": first["sentence1"] + "。"},
                                          ensure_ascii=False), *lines[1:]]) + "\n",
                   encoding="utf-8")
    assert main([*argv, "--out", str(tmp_path / "c"), "--public-only"]) == 0
    other = json.loads((tmp_path / "c" / "MedTEB-STS" / "medteb_export.json").read_text())
    assert other["source_revision"].startswith("public-") and other["source_revision"] != revision

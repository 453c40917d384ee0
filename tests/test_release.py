"""`medteb release`: create from a build export, verify byte for byte, list; dated windows."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from pathlib import Path

import pytest

from medteb.build.export import plan_export, write_datasheet, write_files
from medteb.cli import main
from medteb.release.create import create_release
from medteb.release.manifest import ReleaseError, read_manifest, release_version
from medteb.release.verify import verify_release

DAY = datetime.date(2026, 1, 15)


def make_export(folder: Path, queries: dict[str, tuple[str, str | None]]) -> Path:
    """A `medteb build export` folder: ``queries`` id -> (text, date); two documents each."""
    rows = {q: {"_id": q, "text": t, **({"date": d} if d else {})}
            for q, (t, d) in queries.items()}
    corpus = {f"{q}-{k}": {"_id": f"{q}-{k}", "text": f"{t}的回答{k}"}
              for q, (t, _) in queries.items() for k in (1, 2)}
    judged = [{"query_id": q, "doc_id": f"{q}-{k}", "label": int(k == 1)}
              for q in queries for k in (1, 2)]
    plan = plan_export(judged, rows, corpus)
    write_files(folder, plan.files)
    write_datasheet(folder, plan.counts, {"judges": ["stub/relevance-v1"]}, "2026-01-01")
    return folder


@pytest.fixture
def first(tmp_path: Path) -> Path:
    return make_export(tmp_path / "export1", {
        "q1": ("感冒多久能好", "2025-06-01"), "q2": ("发烧怎么办", "2025-09-30"),
        "q3": ("头痛吃什么药", None)})


def test_create_writes_hashes_counts_window_and_datasheet(first: Path, tmp_path: Path) -> None:
    root = tmp_path / "releases"
    manifest = create_release(first, root, "2026.1", today=DAY)
    assert (manifest.version, manifest.parent, manifest.created) == ("2026.1", None, "2026-01-15")
    by_path = {f.path: f for f in manifest.files}
    queries = root / "2026.1/MedTEB-Retrieval/queries.jsonl"
    assert by_path["MedTEB-Retrieval/queries.jsonl"].sha256 == hashlib.sha256(
        queries.read_bytes()).hexdigest()
    assert queries.read_bytes() == (first / "MedTEB-Retrieval/queries.jsonl").read_bytes()
    assert by_path["MedTEB-Retrieval/queries.jsonl"].rows == 3
    assert by_path["MedTEB-Retrieval/qrels/test.tsv"].rows == 6  # header not counted
    summary = manifest.tasks["MedTEB-Retrieval"]
    assert (summary.queries, summary.documents, summary.dated_queries) == (3, 6, 2)
    assert (summary.first_date, summary.last_date) == ("2025-06-01", "2025-09-30")
    assert manifest.build["judges"] == ["stub/relevance-v1"]
    assert read_manifest(root / "2026.1") == manifest
    assert verify_release(root / "2026.1").files == len(manifest.files)
    assert [p.name for p in root.iterdir()] == ["2026.1"]  # no staging folder left


@pytest.mark.parametrize(("tamper", "message"), [
    (lambda r: r.joinpath("MedTEB-Retrieval/corpus.jsonl").write_bytes(
        r.joinpath("MedTEB-Retrieval/corpus.jsonl").read_bytes().replace(b"1", b"2", 1)),
     r"MedTEB-Retrieval/corpus.jsonl: SHA-256 \w+… differs from the manifest's"),
    (lambda r: r.joinpath("MedTEB-Retrieval/queries.jsonl").open("ab").write(b"\n{}\n"),
     r"queries.jsonl: SHA-256 .*/queries.jsonl: 4 rows, the manifest says 3"),
    (lambda r: r.joinpath("MedTEB-Rerank/extra.jsonl").write_text("{}\n"),
     r"MedTEB-Rerank/extra.jsonl: not in the manifest \(a file was added\)"),
    (lambda r: r.joinpath("datasheet.md").unlink(), r"datasheet.md: missing"),
])
def test_verify_catches_one_byte_and_every_file_change(first: Path, tmp_path: Path, tamper,
                                                      message: str) -> None:
    root = tmp_path / "releases"
    create_release(first, root, "v1", today=DAY)
    verify_release(root / "v1")
    tamper(root / "v1")
    with pytest.raises(ReleaseError, match=message):
        verify_release(root / "v1")


def test_queries_after_keeps_newer_queries_and_parents_chain(first: Path, tmp_path: Path) -> None:
    root = tmp_path / "releases"
    create_release(first, root, "v1", today=DAY)
    second = make_export(tmp_path / "export2", {
        "n1": ("孩子咳嗽怎么办", "2025-12-01"), "n2": ("胃痛吃什么", "2026-01-02"),
        "old": ("高血压能喝酒吗", "2025-10-01"), "undated": ("牙疼怎么办", None)})
    manifest = create_release(second, root, "v2", queries_after="2025-11-01", today=DAY)
    assert manifest.parent == "v1" and manifest.queries_after == "2025-11-01"
    kept = [json.loads(line)["_id"] for line in
            (root / "v2/MedTEB-Retrieval/queries.jsonl").read_text().splitlines()]
    assert kept == ["n1", "n2"]
    assert manifest.tasks["MedTEB-Retrieval"].documents == 4
    assert manifest.tasks["MedTEB-Retrieval"].first_date == "2025-12-01"
    verify_release(root / "v2")


def test_shared_queries_are_refused_unless_declared(first: Path, tmp_path: Path) -> None:
    root = tmp_path / "releases"
    create_release(first, root, "v1", today=DAY)
    again = make_export(tmp_path / "export2", {"n1": ("感冒 多久能好？", "2025-12-01"),
                                               "n2": ("胃痛吃什么", "2025-12-02")})
    with pytest.raises(ReleaseError, match=r"queries already in an earlier release "
                                           r"\(MedTEB-Rerank: n1; MedTEB-Retrieval: n1\); "
                                           r"pass --allow-shared"):
        create_release(again, root, "v2", today=DAY)
    assert sorted(p.name for p in root.iterdir()) == ["v1"]  # nothing written
    manifest = create_release(again, root, "v2", allow_shared=True, today=DAY)
    assert manifest.declared_shared == {"MedTEB-Retrieval": ["n1"], "MedTEB-Rerank": ["n1"]}
    verify_release(root / "v2")
    path = root / "v2/manifest.json"
    path.write_text(path.read_text().replace('"n1"', '"n9"'))
    with pytest.raises(ReleaseError, match=r"MedTEB-Retrieval: queries n1 are in an earlier "
                                           r"release and not declared"):
        verify_release(root / "v2")


def test_create_errors(first: Path, tmp_path: Path) -> None:
    root = tmp_path / "releases"
    with pytest.raises(ReleaseError, match=r"release version 'v 1': use letters"):
        create_release(first, root, "v 1")
    with pytest.raises(ReleaseError, match=r"not a `medteb build export` folder"):
        create_release(tmp_path, root, "v1")
    with pytest.raises(ReleaseError, match=r"--queries-after '2025-02-30': not a YYYY-MM-DD"):
        create_release(first, root, "v1", queries_after="2025-02-30")
    with pytest.raises(ReleaseError, match=r"no query is dated after 2025-12-31 \(2 dated, "
                                           r"the latest 2025-09-30\)"):
        create_release(first, root, "v1", queries_after="2025-12-31")
    with pytest.raises(ReleaseError, match=r"--parent v0: no such release"):
        create_release(first, root, "v1", parent="v0")
    assert not root.exists() or not any(root.iterdir())
    create_release(first, root, "v1")
    with pytest.raises(ReleaseError, match=r"release v1 already exists .* never changed"):
        create_release(first, root, "v1")


def test_cli_create_verify_list(first: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "releases"
    assert main(["release", "list", "--releases-dir", str(root)]) == 0
    assert "no releases in" in capsys.readouterr().out
    assert main(["release", "create", "--version", "2026.1", "--from", str(first),
                 "--releases-dir", str(root)]) == 0
    assert "released 2026.1" in capsys.readouterr().out
    assert main(["release", "verify", str(root / "2026.1")]) == 0
    assert "release 2026.1: ok" in capsys.readouterr().out
    assert main(["release", "list", "--releases-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\| 2026\.1 \| \d{4}-\d\d-\d\d \| – \| 6 \| 4 \| 2025-06-01 – "
                     r"2025-09-30 \| \d+ \|", out), out
    (root / "2026.1/MedTEB-Retrieval/corpus.jsonl").write_text("{}\n")
    assert main(["release", "verify", str(root / "2026.1")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "corpus.jsonl: SHA-256" in err
    assert main(["release", "verify", str(tmp_path)]) == 2
    assert "not a release (no manifest.json)" in capsys.readouterr().err


def test_a_release_is_the_tasks_dataset_revision(first: Path, tmp_path: Path) -> None:
    from medteb.benchmark.tasks import get_task

    root = tmp_path / "releases"
    create_release(first, root, "2026.1", today=DAY)
    assert release_version(root / "2026.1") == "2026.1" and release_version(first) is None
    released = get_task("MedTEB-Retrieval", data_dir=root / "2026.1")
    released.load_data()
    plain = get_task("MedTEB-Retrieval", data_dir=first)
    plain.load_data()
    hash_part = plain.metadata.dataset["revision"].removeprefix("local-")
    assert released.metadata.dataset["revision"] == f"release-2026.1-{hash_part}"

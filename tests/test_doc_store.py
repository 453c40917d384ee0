"""The document store: exact keys, re-use across query encoders, atomic and resumable writes."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from medteb.cli import main
from medteb.evaluation.runner import RunConfig, run
from medteb.models.asymmetric import AsymmetricSpec
from medteb.models.document_store import (
    DocumentStore,
    DocumentStoreError,
    EncoderIdentity,
    EntryKey,
)
from medteb.models.sides import SideConfig

IDENTITY = EncoderIdentity("org/doc", "rev1", "last-token", 512, "float32", 4, 1000)
ENTRY = EntryKey("MedTEB-Retrieval", "test", "default", "local-abc")


class CountingEncoder:
    """Encodes a text as (len, first code point, 1, 0) and counts what it was asked."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.texts: list[str] = []
        self.calls = 0
        self.fail_on_call = fail_on_call

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise KeyboardInterrupt
        self.texts += texts
        return np.array([[len(t), ord(t[0]), 1, 0] for t in texts], dtype=np.float32)


def test_second_lookup_encodes_nothing_and_returns_the_same_vectors(tmp_path: Path) -> None:
    encode = CountingEncoder()
    first = DocumentStore(tmp_path).get_or_encode(IDENTITY, ENTRY, ["甲", "乙乙", "甲"], encode)
    assert encode.texts == ["甲", "乙乙"]  # a repeated text is encoded once
    again = DocumentStore(tmp_path)  # a new process: reads from disk
    second = again.get_or_encode(IDENTITY, ENTRY, ["乙乙", "甲"], CountingEncoder(fail_on_call=1))
    np.testing.assert_array_equal(second, first[[1, 0]])
    assert (again.stats.encoded, again.stats.reused) == (0, 2)


@pytest.mark.parametrize("changed", [
    replace(IDENTITY, name="org/other"), replace(IDENTITY, revision="rev2"),
    replace(IDENTITY, pooling="mean"), replace(IDENTITY, max_length=256),
    replace(IDENTITY, dtype="bfloat16"),
])
def test_any_change_to_the_encoder_misses(tmp_path: Path, changed: EncoderIdentity) -> None:
    store = DocumentStore(tmp_path)
    store.get_or_encode(IDENTITY, ENTRY, ["甲", "乙"], CountingEncoder())
    encode = CountingEncoder()
    store.get_or_encode(changed, ENTRY, ["甲", "乙"], encode)
    assert encode.texts == ["甲", "乙"]


@pytest.mark.parametrize("entry", [
    replace(ENTRY, dataset_revision="local-def"), replace(ENTRY, task="MedTEB-Rerank"),
    replace(ENTRY, split="dev"),
])
def test_other_data_misses(tmp_path: Path, entry: EntryKey) -> None:
    store = DocumentStore(tmp_path)
    store.get_or_encode(IDENTITY, ENTRY, ["甲"], CountingEncoder())
    encode = CountingEncoder()
    store.get_or_encode(IDENTITY, entry, ["甲"], encode)
    assert encode.texts == ["甲"]


def test_a_changed_text_misses_only_itself(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    store.get_or_encode(IDENTITY, ENTRY, ["甲", "乙"], CountingEncoder())
    encode = CountingEncoder()
    out = store.get_or_encode(IDENTITY, ENTRY, ["甲", "乙 "], encode)
    assert encode.texts == ["乙 "]
    np.testing.assert_array_equal(out, [[1, ord("甲"), 1, 0], [2, ord("乙"), 1, 0]])


def test_interrupted_encoding_keeps_finished_shards_and_resumes(tmp_path: Path) -> None:
    texts = [f"文{i}" for i in range(5)]
    with pytest.raises(KeyboardInterrupt):
        DocumentStore(tmp_path, shard_size=2).get_or_encode(
            IDENTITY, ENTRY, texts, CountingEncoder(fail_on_call=2))
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert len([f for f in files if f.startswith("shard-")]) == 1
    assert not [f for f in files if f.endswith(".tmp")]
    encode = CountingEncoder()
    DocumentStore(tmp_path, shard_size=2).get_or_encode(IDENTITY, ENTRY, texts, encode)
    assert encode.texts == texts[2:]


def test_a_failed_write_leaves_no_shard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import safetensors.numpy

    def torn(tensors: dict, filename: str, metadata: dict) -> None:
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", torn)
    with pytest.raises(OSError, match="disk full"):
        DocumentStore(tmp_path).add(IDENTITY, ENTRY, ["甲"], np.ones((1, 4), dtype=np.float32))
    leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(leftovers) == ["encoder.json", "entry.json"]  # no shard, no temp file
    monkeypatch.undo()
    _, missing = DocumentStore(tmp_path).lookup(IDENTITY, ENTRY, ["甲"])
    assert missing == [0]


def test_shards_are_safetensors_not_pickle(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    DocumentStore(tmp_path).get_or_encode(IDENTITY, ENTRY, ["甲"], CountingEncoder())
    (shard,) = tmp_path.rglob("shard-*.safetensors")
    data = load_file(shard)
    assert data["vectors"].dtype == np.float32 and data["digests"].shape == (1, 32)
    encoder = json.loads((shard.parent.parent / "encoder.json").read_text())
    assert encoder == IDENTITY.to_dict()


def test_store_only_reports_what_is_missing(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    store.get_or_encode(IDENTITY, ENTRY, ["甲"], CountingEncoder())
    with pytest.raises(DocumentStoreError,
                       match=r"1 of 2 documents of MedTEB-Retrieval \(test, data revision "
                             r"local-abc\) have no stored vector from org/doc .*medteb "
                             r"encode-documents"):
        store.get_or_encode(IDENTITY, ENTRY, ["甲", "乙"], None)


# --- through the runner and the CLI, with tiny real models ---------------------------------


def _spec(query: Path, document: Path, store: Path, **kwargs) -> AsymmetricSpec:
    return AsymmetricSpec(query=SideConfig(str(query)),
                          document=SideConfig(str(document), pooling="last-token"),
                          truncate_dim=32, store=store, **kwargs)


def test_another_query_encoder_reuses_every_document_vector(tmp_path: Path, tiny_bert: Path,
                                                            tiny_decoder: Path) -> None:
    store = tmp_path / "store"
    first_spec = _spec(tiny_bert, tiny_decoder, store)
    first = first_spec.load()
    run(RunConfig(model=first, tasks=["MedTEB-Retrieval", "MedTEB-Rerank"], data_dir="sample",
                  output_folder=tmp_path / "results", show_progress=False))
    assert first.counts.document_texts == 151 + 80

    other_query = tiny_bert.parent / "raw"  # a different query encoder: plain BERT, mean pooling
    second_spec = replace(first_spec, query=SideConfig(str(other_query), pooling="mean"))
    second = second_spec.load()
    report = run(RunConfig(model=second, tasks=["MedTEB-Retrieval", "MedTEB-Rerank"],
                           data_dir="sample", output_folder=tmp_path / "results",
                           show_progress=False))
    assert second.counts.document_texts == 0 and second.store.stats.reused == 151 + 80
    assert report.notes == [f"Documents: 0 encoded, 231 re-used from the document store {store}"]
    assert second.mteb_model_meta.name != first.mteb_model_meta.name

    texts = ["热性惊厥多见于6个月到5岁的儿童", "高血压患者应低盐饮食"]
    entry = EntryKey("probe", "test", "default", "x")
    raw = first.document_side.encode(texts, 2, False, "")
    first.store.add(first.document_identity, entry, texts, raw)
    stored = DocumentStore(store).get_or_encode(second.document_identity, entry, texts, None)
    np.testing.assert_array_equal(stored, raw)  # same identity, the same vectors


def test_cli_pair_run_records_both_sides_and_reuses_documents(
        tmp_path: Path, tiny_bert: Path, tiny_decoder: Path, capsys: pytest.CaptureFixture
) -> None:
    common = ["-t", "MedTEB-Retrieval", "--data-dir", "sample", "--document-model",
              str(tiny_decoder), "--document-pooling", "last-token", "--truncate-dim", "32",
              "--document-store",
              str(tmp_path / "store"), "--output-folder", str(tmp_path / "results"), "-v", "0"]
    assert main(["run", "--query-model", str(tiny_bert), *common]) == 0
    assert "Documents: 151 encoded, 0 re-used" in capsys.readouterr().out
    (meta_file,) = (tmp_path / "results").glob("asym__local-tiny-bert-zh+local-tiny-qwen2-zh/*/"
                                               "model_meta.json")
    pair = json.loads(meta_file.read_text())["loader_kwargs"]["asymmetric"]
    assert pair["query"]["n_parameters"] > 0 and pair["document"]["n_parameters"] > 0
    assert pair["query"]["pooling"] == "model"  # auto: the model's own, as under -m
    assert pair["document"]["pooling"] == "last-token" and pair["truncate_dim"] == 32
    assert (meta_file.parent / "MedTEB-Retrieval.json").is_file()

    raw = tiny_bert.parent / "raw"
    assert main(["run", "--query-model", str(raw), *common]) == 0
    out = capsys.readouterr().out
    assert "Documents: 0 encoded, 151 re-used" in out
    assert re.search(r"\| MedTEB-Retrieval \| ndcg_at_10 \| [\d.]+ \|", out)


def test_encode_documents_then_evaluate_without_the_document_model(
        tmp_path: Path, tiny_bert: Path, tiny_decoder: Path, capsys: pytest.CaptureFixture
) -> None:
    store = str(tmp_path / "store")
    encode = ["encode-documents", "--document-model", str(tiny_decoder), "--document-store",
              store, "--data-dir", "sample", "-v", "0"]
    assert main(encode) == 0
    out = capsys.readouterr().out
    assert "| MedTEB-Retrieval | test | 151 | 151 |" in out
    assert "| MedTEB-Rerank | test | 80 | 80 |" in out
    assert "| MedTEB-STS |  | 0 | 0 | a STS task has no documents |" in out
    assert main(encode) == 0  # resumable: nothing left to encode
    assert "| MedTEB-Retrieval | test | 151 | 0 |" in capsys.readouterr().out

    tasks = ["-t", "MedTEB-Retrieval", "MedTEB-Rerank", "--data-dir", "sample",
             "--truncate-dim", "32", "--document-store", store, "-v", "0", "--query-model",
             str(tiny_bert)]
    moved = tmp_path / "elsewhere" / tiny_decoder.name  # the document model is not here
    assert main(["run", *tasks, "--document-model", str(moved), "--stored-documents-only",
                 "--output-folder", str(tmp_path / "store-only")]) == 0
    store_only = capsys.readouterr().out
    assert "Documents: 0 encoded, 231 re-used" in store_only
    assert main(["run", *tasks, "--document-model", str(tiny_decoder),
                 "--output-folder", str(tmp_path / "full")]) == 0
    full = capsys.readouterr().out

    def scores(text: str) -> list[str]:
        return re.findall(r"\| MedTEB-\w+ \| \w+ \| ([\d.]+) \|", text)

    assert scores(store_only) == scores(full) and len(scores(full)) == 2


def test_store_only_with_an_empty_store_is_a_clear_error(
        tmp_path: Path, tiny_bert: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["run", "-t", "MedTEB-Retrieval", "--data-dir", "sample", "--query-model",
            str(tiny_bert), "--document-model", "org/big-llm", "--stored-documents-only",
            "--document-store", str(tmp_path / "empty"), "--output-folder",
            str(tmp_path / "results")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "store-only mode:" in err and "holds no document vectors from org/big-llm" in err
    assert "Run `medteb encode-documents` first" in err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--query-model", "x"], "needs both --query-model and --document-model"),
    (["--document-model", "x"], "needs both --query-model and --document-model"),
    (["-m", "bm25-zh", "--query-model", "x", "--document-model", "y"],
     "either -m MODEL or --query-model/--document-model"),
    (["--query-model", "x", "--document-model", "y", "--model-revision", "1"],
     "a pair takes --query-revision and --document-revision"),
    (["--query-model", "./missing-q", "--document-model", "./missing-d"],
     "query model path './missing-q' does not exist"),
])
def test_half_pairs_and_missing_paths_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                             argv: list[str], message: str) -> None:
    out = tmp_path / "results"
    assert main(["run", "--data-dir", "sample", "--output-folder", str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_unknown_pooling_is_refused_by_the_parser(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--query-model", "a", "--document-model", "b", "--query-pooling", "max"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'max'" in capsys.readouterr().err


def test_atomic_write_gives_the_usual_mode_and_cleans_up(tmp_path: Path) -> None:
    import os

    from medteb._fileio import atomic_write, write_atomic

    write_atomic(tmp_path / "a" / "x.txt", "甲\n")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a" / "x.txt").read_text(encoding="utf-8") == "甲\n"
    assert (tmp_path / "a" / "x.txt").stat().st_mode & 0o777 == 0o666 & ~mask

    def fail(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(tmp_path / "a" / "x.txt", fail)
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.txt"]
    assert (tmp_path / "a" / "x.txt").read_text(encoding="utf-8") == "甲\n"

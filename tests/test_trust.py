"""Every score and stored vector belongs to exactly what produced it (issue 12, part A)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from medteb.cli import main
from medteb.errors import MedtebError
from medteb.models import fingerprint as fp
from medteb.models import local_model_name, weights_fingerprint
from tests.conftest import SAMPLE_TASKS

MIB = 1 << 20


def _model_folder(folder: Path, size: int = 3 * MIB) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"hidden_size": 8}\n', encoding="utf-8")
    (folder / "model.safetensors").write_bytes(np.random.default_rng(0).bytes(size))
    return folder


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


# --- 1. model identity -------------------------------------------------------------------------


def test_a_change_in_the_middle_of_the_weights_changes_the_revision(tmp_path: Path) -> None:
    model = _model_folder(tmp_path / "m")
    before = weights_fingerprint(model)
    _flip(model / "model.safetensors", int(1.5 * MIB))  # what LoRA merging changes: a middle
    assert weights_fingerprint(model) != before
    (model / "README.md").write_text("docs do not change the model\n", encoding="utf-8")
    middle = weights_fingerprint(model)
    (model / "config.json").write_text('{"hidden_size": 9}\n', encoding="utf-8")
    assert weights_fingerprint(model) != middle


def test_a_second_fingerprint_reads_only_the_cache(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model_folder(tmp_path / "m")
    first = weights_fingerprint(model)
    assert list((tmp_path / "medteb-cache" / "fingerprints").rglob("*.json"))  # conftest's dir

    def no_hashing(path: Path) -> str:
        raise AssertionError(f"{path} was hashed again")

    monkeypatch.setattr(fp, "file_sha256", no_hashing)  # timed by benchmarks/fingerprint.py
    assert weights_fingerprint(model) == first


def test_a_rewritten_file_with_the_same_size_and_mtime_is_hashed_again(tmp_path: Path) -> None:
    model = _model_folder(tmp_path / "m")
    weights = model / "model.safetensors"
    first = weights_fingerprint(model)
    stat = weights.stat()
    data = bytearray(weights.read_bytes())
    data[MIB] ^= 1
    weights.unlink()  # as `cp`/`rsync` replace a file: a new inode, the old times put back
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert weights_fingerprint(model) != first


def test_trained_pairs_carry_their_own_name(tmp_path: Path) -> None:
    from medteb.models.sides import SideConfig
    from medteb.train.pair import pair_name, run_command
    from medteb.train.recipe import PairRecipe

    named, unnamed = tmp_path / "run-a", tmp_path / "run-b"
    for out, name in ((named, "me/mar-v1"), (unnamed, None)):
        for side in ("query", "document"):
            (out / side).mkdir(parents=True)
        pair = {"query": {"path": "query"}, **({"name": name} if name else {})}
        (out / "medteb_pair.json").write_text(json.dumps(pair), encoding="utf-8")
    assert local_model_name(named / "query") == "me/mar-v1-query"
    assert SideConfig(str(named / "document")).name == "me/mar-v1-document"
    assert local_model_name(unnamed / "query") == "local/run-b-query"  # never local/query
    assert "--name local/run-b --data-dir DIR" in run_command(unnamed, 32, PairRecipe())
    assert pair_name(named, "me/mar-v1") == "me/mar-v1"
    with pytest.raises(MedtebError, match="must look like 'organisation/name'"):
        pair_name(named, "no-organisation")


def test_store_only_refuses_vectors_of_an_older_revision_of_the_folder(tmp_path: Path) -> None:
    from medteb.models.asymmetric import _stored_identity
    from medteb.models.document_store import (
        DocumentStore,
        DocumentStoreError,
        EncoderIdentity,
        EntryKey,
    )
    from medteb.models.sides import SideConfig

    folder = _model_folder(tmp_path / "big-llm")
    side = SideConfig(str(folder), pooling="last-token")
    store = DocumentStore(tmp_path / "store")
    identity = EncoderIdentity(side.name, weights_fingerprint(folder), "last-token", 512,
                               "float32", 4, 10)
    store.add(identity, EntryKey("t", "test", "default", "r"), ["文"], np.ones((1, 4)))
    assert _stored_identity(store, side) == identity
    _flip(folder / "model.safetensors", int(1.5 * MIB))  # fine-tuned again, same folder
    with pytest.raises(DocumentStoreError, match="its weights changed since the vectors were "
                                                 "stored, encode them again"):
        _stored_identity(store, side)


# --- 3. undefined scores, 4. predictions, 12. cached results and the sample ---------------------


class ConstantEncoder:
    """Every text gets the same vector: cosine similarities are all 1, Pearson is undefined."""

    def __init__(self, name: str = "test/constant") -> None:
        from mteb.models.model_meta import ModelMeta, ScoringFunction

        self.mteb_model_meta = ModelMeta.create_empty(overwrites={
            "name": name, "revision": "1", "similarity_fn_name": ScoringFunction.COSINE,
            "embed_dim": 4, "model_type": ["dense"], "framework": ["PyTorch"]})

    def encode(self, inputs, *, task_metadata, hf_split, hf_subset, prompt_type=None,
               **kwargs):
        return np.ones((sum(len(batch["text"]) for batch in inputs), 4), dtype=np.float32)

    def similarity(self, a, b):
        from mteb.similarity_functions import cos_sim

        return cos_sim(a, b)

    def similarity_pairwise(self, a, b):
        from mteb.similarity_functions import pairwise_cos_sim

        return pairwise_cos_sim(a, b)


def test_an_undefined_main_score_is_a_failed_task_and_a_failed_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import medteb.models

    monkeypatch.setattr(medteb.models, "load_model", lambda *a, **k: ConstantEncoder())
    argv = ["run", "-m", "constant", "-t", "MedTEB-STS", "--data-dir", "sample",
            "--output-folder", str(tmp_path / "out"), "-v", "0"]
    assert main(argv) == 1
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("| MedTEB-STS"))
    assert "| failed |" in row and "is undefined (nan)" in row
    assert not list((tmp_path / "out").rglob("MedTEB-STS.json"))  # no NaN left as a result


def _run(tmp_path: Path, model: object = "bm25-zh", **kwargs):
    from medteb.evaluation.runner import RunConfig, run

    config = {"tasks": ["MedTEB-Retrieval"], "data_dir": "sample",
              "output_folder": tmp_path / "results", "show_progress": False, **kwargs}
    return run(RunConfig(model=model, **config))


def test_predictions_are_written_for_cached_scores_and_kept_per_model(tmp_path: Path) -> None:
    first = _run(tmp_path)
    predictions = tmp_path / "preds"
    again = _run(tmp_path, prediction_folder=predictions)  # scores cached, predictions missing
    assert again.outcomes[0].score == first.outcomes[0].score
    other = _run(tmp_path, model=ConstantEncoder(), prediction_folder=predictions)
    files = sorted(predictions.rglob("MedTEB-Retrieval_predictions.json"))
    assert len(files) == 2
    owners = {(json.loads(f.read_text())["mteb_model_meta"]["model_name"],
               json.loads(f.read_text())["mteb_model_meta"]["revision"]) for f in files}
    assert owners == {(first.model_name, first.model_revision),
                      (other.model_name, other.model_revision)}
    from medteb.results.layout import predictions_file

    found = predictions_file(predictions, "MedTEB-Retrieval", first.model_name,
                             first.model_revision)
    assert found.is_file() and found.parent.name == first.model_revision


def test_a_run_says_which_results_were_cached(tmp_path: Path) -> None:
    first = _run(tmp_path)
    assert not first.outcomes[0].cached
    lines: list[str] = []
    from medteb.evaluation.runner import RunConfig, run

    again = run(RunConfig(model="bm25-zh", tasks=["MedTEB-Retrieval"], data_dir="sample",
                          output_folder=tmp_path / "results", show_progress=False),
                on_progress=lines.append)
    path = again.outcomes[0].result_path
    assert again.outcomes[0].cached and path == first.outcomes[0].result_path
    assert f"  cached: {path} (--overwrite-strategy always evaluates again)" in lines
    table = again.to_markdown()
    assert "| cached; bundled SAMPLE (not the benchmark) |" in table
    assert f"- MedTEB-Retrieval: {path}\n" in table


def test_results_on_the_sample_and_on_a_data_folder_do_not_collide(tmp_path: Path) -> None:
    data = tmp_path / "data" / "MedTEB-Retrieval"
    shutil.copytree(SAMPLE_TASKS / "MedTEB-Retrieval" / "sample", data)
    on_sample = _run(tmp_path)
    on_data = _run(tmp_path, data_dir=tmp_path / "data")
    assert on_sample.model_revision.endswith("-sample")
    assert on_sample.model_revision != on_data.model_revision
    assert on_sample.outcomes[0].result_path != on_data.outcomes[0].result_path
    assert on_sample.outcomes[0].result_path.is_file() and on_data.outcomes[0].result_path.is_file()
    assert not on_data.outcomes[0].cached  # not the sample's result served for the data folder


# --- 11. one Hub decision -----------------------------------------------------------------------


def test_the_library_entry_decides_about_the_hub_once_and_waits_for_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medteb import _hub

    for name in _hub.OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_hub, "_offline", None)
    probes: list[float] = []

    def unreachable(timeout: float = 3.0) -> bool:
        probes.append(timeout)
        return False

    monkeypatch.setattr(_hub, "hub_reachable", unreachable)
    start = time.perf_counter()
    report = _run(tmp_path, tasks=["CMedQAv1-reranking", "MedTEB-Retrieval"])
    _run(tmp_path, tasks=["MedTEB-Retrieval"])
    assert probes == [3.0]  # one decision for the process
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    cmedqa = next(o for o in report.outcomes if o.name == "CMedQAv1-reranking")
    assert cmedqa.skipped and "offline" in cmedqa.skipped
    assert time.perf_counter() - start < 30  # no 25-second retries per Hub request


# --- 9. smaller ones ----------------------------------------------------------------------------


def test_flags_before_any_command_are_the_implicit_run(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert main(["-m", "bm25-zh", "-t", "MedTEB-STS", "--data-dir", "sample",
                 "--output-folder", str(out), "-v", "0"]) == 0
    assert "| MedTEB-STS |" in capsys.readouterr().out
    assert list(out.rglob("MedTEB-STS.json"))


def test_batch_size_zero_is_an_argument_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--batch-size", "0"])
    assert exited.value.code == 2
    assert "must be a positive integer, got 0" in capsys.readouterr().err


def test_report_help_prints_a_plain_percent_sign(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["report", "correlation", "--help"])
    text = capsys.readouterr().out
    assert "95% CI" in text and "95%%" not in text


def test_an_empty_input_to_the_document_store_is_a_clear_error(tmp_path: Path) -> None:
    from medteb.models.document_store import (
        DocumentStore,
        DocumentStoreError,
        EncoderIdentity,
        EntryKey,
    )

    identity = EncoderIdentity("org/d", "r", "cls", 512, "float32", 4, 10)
    with pytest.raises(DocumentStoreError, match="no documents to look up or encode for T"):
        DocumentStore(tmp_path).get_or_encode(identity, EntryKey("T", "test", "", "r"), [],
                                              lambda texts: np.ones((len(texts), 4)))


def test_store_only_with_a_document_only_load_loads_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medteb.models import asymmetric
    from medteb.models.asymmetric import AsymmetricSpec
    from medteb.models.sides import SideConfig

    def no_loading(*args: object) -> None:
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(asymmetric, "load_side", no_loading)
    spec = AsymmetricSpec(query=SideConfig("org/q"), document=SideConfig("org/d"),
                          store=tmp_path, store_only=True)
    with pytest.raises(MedtebError, match="store-only mode does not load the document model"):
        spec.load(document_only=True)

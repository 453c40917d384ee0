"""``medteb reproduce``: an entry re-run from its manifest; reproduced, or each difference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from medteb.cli import main
from medteb.errors import MedtebError
from medteb.results.manifest import MANIFEST_FILE, read_manifest
from medteb.results.reproduce import REPRODUCTIONS_FILE, run_config
from tests.conftest import ROOT


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _entry(root: Path) -> Path:
    (folder,) = [p for p in root.glob("*/*") if p.is_dir()]
    return folder


def _set_score(path: Path, delta: float) -> None:
    data = json.loads(path.read_text())
    data["scores"]["test"][0]["main_score"] += delta
    path.write_text(json.dumps(data))


def test_bm25_entry_reproduces_and_is_recorded(in_tmp: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "-m", "bm25-zh", "--data-dir", "sample", "-t", "MedTEB-STS",
                 "MedTEB-Rerank", "-v", "0"]) == 0
    entry = _entry(in_tmp / "runs")
    capsys.readouterr()
    assert main(["reproduce", str(entry)]) == 0
    out = capsys.readouterr().out
    assert "reproduced: every main score within 0.001" in out
    assert "| MedTEB-Rerank |" in out and "| 0.00000 |" in out
    records = yaml.safe_load((entry / REPRODUCTIONS_FILE).read_text())
    assert len(records) == 1 and records[0]["tasks"] == ["MedTEB-Rerank", "MedTEB-STS"]
    assert records[0]["max_difference"] < 1e-6 and records[0]["hardware"]["cpu_count"]
    assert main(["reproduce", str(entry)]) == 0
    assert len(yaml.safe_load((entry / REPRODUCTIONS_FILE).read_text())) == 2

    # a score off by more than 0.001 (and one within it) fails with one line for the former
    _set_score(entry / "MedTEB-STS.json", 0.002)
    _set_score(entry / "MedTEB-Rerank.json", 0.0005)
    capsys.readouterr()
    assert main(["reproduce", str(entry)]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("medteb:")]
    assert len(err) == 1
    assert "MedTEB-STS.json: main score" in err[0] and "(difference 0.00200 > 0.001)" in err[0]
    assert len(yaml.safe_load((entry / REPRODUCTIONS_FILE).read_text())) == 2  # not recorded


def test_other_data_is_not_a_reproduction(in_tmp: Path, capsys: pytest.CaptureFixture) -> None:
    data, other = in_tmp / "data" / "MedTEB-STS", in_tmp / "other" / "MedTEB-STS"
    shutil.copytree(ROOT / "tasks" / "MedTEB-STS" / "sample", data)
    shutil.copytree(data, other)
    lines = (other / "sts" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    (other / "sts" / "test.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert main(["run", "-m", "bm25-zh", "--data-dir", str(data.parent), "-t", "MedTEB-STS",
                 "-v", "0"]) == 0
    entry = _entry(in_tmp / "runs")
    assert main(["reproduce", str(entry), "--data-dir", str(data.parent)]) == 0
    capsys.readouterr()
    assert main(["reproduce", str(entry), "--data-dir", str(other.parent)]) == 1
    err = capsys.readouterr().err
    assert err.count("medteb: ") == 1
    assert "MedTEB-STS.json: data revision local-" in err and "is not the recorded local-" in err
    # without --data-dir, a benchmark entry is not silently run on the sample
    assert main(["reproduce", str(entry)]) == 2  # no data: the release is not published


def test_changed_weights_are_not_a_reproduction(in_tmp: Path, tiny_bert: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    model = in_tmp / "model"
    shutil.copytree(tiny_bert, model)
    assert main(["run", "-m", str(model), "--data-dir", "sample", "-t", "MedTEB-STS",
                 "-v", "0"]) == 0
    entry = _entry(in_tmp / "runs")
    assert main(["reproduce", str(entry), "--no-record"]) == 0
    assert not (entry / REPRODUCTIONS_FILE).exists()
    (weights,) = model.glob("*.safetensors")
    from safetensors.torch import load_file, save_file

    tensors = load_file(weights)
    first = sorted(tensors)[0]
    tensors[first] = tensors[first] + 0.5
    save_file(tensors, weights, metadata={"format": "pt"})
    capsys.readouterr()
    assert main(["reproduce", str(entry)]) == 1
    assert "the model now comes out as revision" in capsys.readouterr().err


def test_entry_without_manifest(in_tmp: Path, capsys: pytest.CaptureFixture) -> None:
    (in_tmp / "org__m" / "r").mkdir(parents=True)
    assert main(["reproduce", "org__m/r"]) == 2
    assert "no run manifest; results written by `medteb run` before" in capsys.readouterr().err


def test_served_and_empty_manifests_cannot_be_rerun(in_tmp: Path) -> None:
    assert main(["run", "-m", "bm25-zh", "--data-dir", "sample", "-t", "MedTEB-STS",
                 "-v", "0"]) == 0
    manifest = read_manifest(_entry(in_tmp / "runs"))
    config = run_config(manifest, None, "out")
    assert (config.model, config.data_dir, config.tasks) == ("bm25-zh", "sample",
                                                             ["MedTEB-STS"])
    with pytest.raises(MedtebError, match="is a served model; its endpoint is not recorded"):
        run_config(manifest.model_copy(update={"kind": "served"}), None, "out")
    with pytest.raises(MedtebError, match="the manifest records no scored task"):
        run_config(manifest.model_copy(update={"tasks": {}}), None, "out")
    unscored = {"MedTEB-STS": manifest.tasks["MedTEB-STS"].model_copy(update={"score": None})}
    with pytest.raises(MedtebError, match="the manifest records no scored task"):
        run_config(manifest.model_copy(update={"tasks": unscored}), None, "out")
    assert MANIFEST_FILE == "run_manifest.yaml"

"""docs/custom_models.md: its example runs as written, and a non-model is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from medteb.errors import MedtebError
from medteb.evaluation.runner import RunConfig, run
from tests.conftest import ROOT


def _example() -> str:
    text = (ROOT / "docs" / "custom_models.md").read_text(encoding="utf-8")
    return re.search(r"<!-- tested: custom-model -->\n```python\n(.*?)```", text, re.S).group(1)


def test_the_documented_custom_model_runs_on_the_sample(tmp_path: Path, monkeypatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_example(), "docs/custom_models.md", "exec"), namespace)
    report = namespace["report"]
    scores = {o.name: o.score for o in report.outcomes}
    assert set(scores) >= {"MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"}
    assert 0.2 < scores["MedTEB-Retrieval"] <= 1  # bigram overlap finds some answers
    assert "Model: my-org/bigram-hash (revision v1-sample)" in capsys.readouterr().out
    stored = json.loads((tmp_path / "runs" / "my-org__bigram-hash" / "v1-sample" /
                         "MedTEB-Retrieval.json").read_text())
    assert stored["scores"]["test"][0]["main_score"] == pytest.approx(
        scores["MedTEB-Retrieval"])


def test_an_object_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MedtebError, match=r"^object is not an mteb model: it needs encode\("):
        run(RunConfig(model=object(), tasks=["MedTEB-STS"], data_dir="sample",
                      output_folder=tmp_path))

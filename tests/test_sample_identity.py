"""The bundled sample is recognised by one function per question, never by a substring search."""

from __future__ import annotations

from pathlib import Path

from medteb.benchmark.data.sources import (
    SAMPLE_LABEL,
    DataSource,
    any_sample,
    is_sample_label,
    is_sample_revision,
)
from medteb.evaluation.runner import RunReport, TaskOutcome, results_revision
from medteb.results.revisions import SAMPLE_REVISION_SUFFIX, filing_revision


def test_sample_revision_is_recognised_from_the_source_that_made_it() -> None:
    sample = DataSource("sample", "tasks/X/sample").data_revision(["abc"])
    local = DataSource("local", "/data/SAMPLE-copies/X").data_revision(["abc"])
    assert (sample, local) == ("sample-abc", "local-abc")
    assert is_sample_revision(sample) and not is_sample_revision(local)
    assert not is_sample_revision("c3f1e0")  # a release revision
    assert any_sample(["c3f1e0", sample]) and not any_sample(["c3f1e0", local])
    assert not any_sample([])


def test_a_local_folder_named_sample_is_not_the_sample() -> None:
    local = DataSource("local", "/data/SAMPLE/MedTEB-Retrieval")
    assert "SAMPLE" in local.label and not is_sample_label(local.label)
    assert is_sample_label(DataSource("sample", "x").label)
    assert DataSource("sample", "x").label == SAMPLE_LABEL
    assert not is_sample_label(None)
    on_local = RunReport("m", "r", [TaskOutcome("T", "ndcg_at_10", 0.5, data=local.label)])
    on_sample = RunReport("m", "r", [TaskOutcome("T", "ndcg_at_10", 0.5, data=SAMPLE_LABEL)])
    assert not on_local.used_sample and "SAMPLE DATA" not in on_local.to_markdown()
    assert on_sample.used_sample and "SAMPLE DATA" in on_sample.to_markdown()


class _Task:
    def __init__(self, revision: str) -> None:
        self.metadata = type("Meta", (), {"revision": revision})()


def test_the_filing_revision_is_computed_by_one_function() -> None:
    assert filing_revision("abc", sample=False) == "abc"
    assert filing_revision("abc", sample=True) == "abc" + SAMPLE_REVISION_SUFFIX
    assert filing_revision("abc-sample", sample=True) == "abc-sample"  # never twice
    assert results_revision("abc", [_Task("sample-1"), _Task("c3f1")]) == "abc-sample"
    assert results_revision("abc", [_Task("local-1")]) == "abc"
    assert results_revision("abc", [_Task(Path("SAMPLE").name)]) == "abc"

"""``MedTEB-Speed.json``: a model's query-encoding throughput (``medteb speed``), the record
the leaderboard's QPS column reads; shaped as an mteb TaskResult so that mteb's loaders read
its folder unharmed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SpeedResult", "SpeedScores"]


class SpeedScores(BaseModel):
    """The one score entry of ``MedTEB-Speed.json`` (``scores["test"][0]``)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    main_score: float
    qps: float = Field(gt=0, description="queries encoded per second")
    batch_size: int = Field(gt=0, description="encoding batch size (the paper: 32)")
    hardware: str = Field(min_length=1, description="e.g. '1x NVIDIA A100 80GB'")
    hf_subset: str = "default"
    languages: list[str] = Field(default_factory=lambda: ["cmn-Hans"])


class SpeedResult(BaseModel):
    """``MedTEB-Speed.json``: query-encoding throughput, the schema the leaderboard reads.

    The file is shaped as an mteb TaskResult (so ``mteb.ResultCache.load_results`` reads the
    folder without error)::

        {"task_name": "MedTEB-Speed", "dataset_revision": "...", "mteb_version": "2.26.24",
         "evaluation_time": 12.3,
         "scores": {"test": [{"main_score": 850.0, "qps": 850.0, "batch_size": 32,
                              "hardware": "1x NVIDIA A100 80GB", "hf_subset": "default",
                              "languages": ["cmn-Hans"]}]}}

    ``main_score`` equals ``qps``; other keys (latency percentiles, ...) are allowed.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    task_name: Literal["MedTEB-Speed"]
    dataset_revision: str
    mteb_version: str | None = None
    evaluation_time: float | None = None
    scores: dict[str, list[SpeedScores]]

    @property
    def measurement(self) -> SpeedScores:
        """The test split's (first) score entry."""
        entries = self.scores.get("test") or next(iter(self.scores.values()), [])
        if not entries:
            raise ValueError("MedTEB-Speed.json has no score entry")
        return entries[0]

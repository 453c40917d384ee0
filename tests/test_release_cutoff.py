"""The post-cutoff split: slices by date, means only for 30+ queries, the difference."""

from __future__ import annotations

import datetime
import math

import pytest

from medteb.release.cutoff import MIN_SLICE, split_at_cutoff
from medteb.release.manifest import ReleaseError


def _dated(n: int, day: str, score: float, prefix: str) -> tuple[dict, dict]:
    return ({f"{prefix}{i}": score for i in range(n)}, {f"{prefix}{i}": day for i in range(n)})


def test_split_means_and_difference_by_hand() -> None:
    after_scores, after_dates = _dated(30, "2025-07-02", 0.4, "a")
    before_scores, before_dates = _dated(40, "2025-07-01", 0.7, "b")  # on the day: before
    scores = {**after_scores, **before_scores, "u": 1.0}
    split = split_at_cutoff(scores, {**after_dates, **before_dates}, "2025-07-01")
    assert (len(split.after), len(split.before), split.undated) == (30, 40, ("u",))
    assert split.after_mean == pytest.approx(0.4) and split.before_mean == pytest.approx(0.7)
    assert split.difference == pytest.approx(-0.3)
    later = split_at_cutoff(scores, {**after_dates, **before_dates}, datetime.date(2025, 6, 30))
    assert (len(later.after), len(later.before)) == (70, 0)
    assert later.before_mean is None and later.difference is None
    assert later.after_mean == pytest.approx((30 * 0.4 + 40 * 0.7) / 70)


def test_fewer_than_30_queries_give_no_score() -> None:
    scores, dates = _dated(MIN_SLICE - 1, "2025-08-01", 0.5, "a")
    split = split_at_cutoff(scores, dates, "2025-01-01")
    assert split.after_mean is None and split.to_dict()["after"] == MIN_SLICE - 1


def test_bad_input_is_refused() -> None:
    with pytest.raises(ReleaseError, match=r"non-finite per-query scores for q2"):
        split_at_cutoff({"q1": 0.5, "q2": math.nan}, {}, "2025-01-01")
    with pytest.raises(ReleaseError, match=r"release date '2025/01/01' is not YYYY-MM-DD"):
        split_at_cutoff({"q1": 0.5}, {}, "2025/01/01")

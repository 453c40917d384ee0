"""Post-cutoff split: a model's per-query scores on queries dated after its release date and on
those before (the computation behind the board's post-cutoff column; docs/releases.md).

Only the split and the means live here; the confidence interval of the difference comes from
the analysis package's bootstrap, which resamples the two slices' per-query scores.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass

from medteb.release.manifest import ReleaseError

#: a slice with fewer queries than this shows "–" instead of a score
MIN_SLICE = 30


@dataclass(frozen=True)
class CutoffSplit:
    """Per-query scores split at a model's release date.

    Attributes:
        cutoff: the model's release date; a query dated on it counts as *before* (the model
            may have seen it).
        after, before: query id -> score, for dated queries after / on or before the cutoff.
        undated: ids of scored queries without a date (in neither slice).
    """

    cutoff: datetime.date
    after: dict[str, float]
    before: dict[str, float]
    undated: tuple[str, ...]

    @staticmethod
    def _mean(scores: Mapping[str, float]) -> float | None:
        return math.fsum(scores.values()) / len(scores) if len(scores) >= MIN_SLICE else None

    @property
    def after_mean(self) -> float | None:
        """Mean score after the cutoff; None with fewer than ``MIN_SLICE`` queries."""
        return self._mean(self.after)

    @property
    def before_mean(self) -> float | None:
        """Mean score on or before the cutoff; None with fewer than ``MIN_SLICE`` queries."""
        return self._mean(self.before)

    @property
    def difference(self) -> float | None:
        """``after_mean - before_mean`` (negative: worse on unseen queries); None if either is."""
        if self.after_mean is None or self.before_mean is None:
            return None
        return self.after_mean - self.before_mean

    def to_dict(self) -> dict:
        return {"cutoff": self.cutoff.isoformat(), "after": len(self.after),
                "before": len(self.before), "undated": len(self.undated),
                "after_mean": self.after_mean, "before_mean": self.before_mean,
                "difference": self.difference}


def split_at_cutoff(scores: Mapping[str, float], query_dates: Mapping[str, str],
                    release_date: str | datetime.date) -> CutoffSplit:
    """Split per-query ``scores`` by the queries' dates around ``release_date``.

    Raises:
        ReleaseError: a non-finite score, or a release date that is not ``YYYY-MM-DD``.
    """
    if isinstance(release_date, str):
        try:
            cutoff = datetime.date.fromisoformat(release_date)
        except ValueError as err:
            raise ReleaseError(f"release date {release_date!r} is not YYYY-MM-DD") from err
    else:
        cutoff = release_date
    bad = [qid for qid, score in scores.items() if not math.isfinite(score)]
    if bad:
        raise ReleaseError(f"non-finite per-query scores for {', '.join(sorted(bad)[:5])}")
    after, before, undated = {}, {}, []
    for qid, score in sorted(scores.items()):
        day = query_dates.get(qid)
        if day is None:
            undated.append(qid)
        elif datetime.date.fromisoformat(day) > cutoff:
            after[qid] = float(score)
        else:
            before[qid] = float(score)
    return CutoffSplit(cutoff, after, before, tuple(undated))

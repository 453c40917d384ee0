"""An entry's post-cutoff score: its per-query scores on a release's queries dated after the
model's release date against those dated before, and the difference with a bootstrap interval
(docs/releases.md, "Post-cutoff scores").

The split is :func:`medteb.release.cutoff.split_at_cutoff` (a slice with fewer than
:data:`~medteb.release.cutoff.MIN_SLICE` queries has no score); the interval resamples each
slice's queries independently (the slices hold different queries) with the analysis package's
bootstrap (:func:`medteb.analysis.stats.bootstrap`), a fixed seed and a stated number of
resamples. The board's *Post-cutoff Δ* column and the page's post-cutoff table show it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medteb.release.cutoff import MIN_SLICE, split_at_cutoff
from medteb.release.manifest import ReleaseError

if TYPE_CHECKING:
    from medteb.analysis.perquery import PerQuery

RESAMPLES = 1000
SEED = 0


@dataclass(frozen=True)
class PostCutoff:
    """One task's scores after and before a model's release date (mteb's 0–1 scale).

    Attributes:
        after, before, undated: how many scored queries fall in each slice.
        after_score, before_score: the slices' mean scores; None below ``MIN_SLICE`` queries.
        difference: ``after_score - before_score`` (negative: worse on queries the model
            cannot have seen); None when either slice is too small.
        interval: the 95% percentile bootstrap interval of the difference, or None.
    """

    task: str
    release_date: str
    after: int
    before: int
    undated: int
    after_score: float | None
    before_score: float | None
    difference: float | None
    interval: tuple[float, float] | None
    resamples: int = RESAMPLES
    seed: int = SEED

    @property
    def text(self) -> str:
        """The board's cell on the 0–100 scale: ``-3.20 [-5.10, -1.30]``; ``–`` when a slice
        has fewer than ``MIN_SLICE`` queries."""
        if self.difference is None or self.interval is None:
            return "–"
        low, high = self.interval
        return f"{100 * self.difference:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}]"

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "release_date": self.release_date, "after": self.after,
                "before": self.before, "undated": self.undated,
                "after_score": self.after_score, "before_score": self.before_score,
                "difference": self.difference,
                "interval": list(self.interval) if self.interval else None,
                "resamples": self.resamples, "seed": self.seed, "min_slice": MIN_SLICE}


def post_cutoff(per_query: PerQuery, query_dates: Mapping[str, str], release_date: str,
                resamples: int = RESAMPLES, seed: int = SEED) -> PostCutoff:
    """Split a ranking task's per-query scores at ``release_date`` and bootstrap the difference.

    Raises:
        ReleaseError: an STS task (its pairs carry no dates), a bad date, non-finite scores.
    """
    import numpy as np

    from medteb.analysis.stats import ScoreSet, bootstrap, percentile_ci

    if per_query.gold is not None:
        raise ReleaseError(f"{per_query.task}: STS pairs carry no dates; the post-cutoff score "
                           "is for Retrieval and Rerank")
    scores = dict(zip(per_query.ids, (float(v) for v in per_query.values), strict=True))
    split = split_at_cutoff(scores, query_dates, release_date)
    interval = None
    if split.difference is not None:
        rng = np.random.default_rng(seed)
        after = bootstrap(ScoreSet("mean", np.array(list(split.after.values()))), resamples,
                          rng)[:, 0]
        before = bootstrap(ScoreSet("mean", np.array(list(split.before.values()))), resamples,
                           rng)[:, 0]
        low, high = percentile_ci(after - before)
        interval = (float(low), float(high))
    return PostCutoff(per_query.task, split.cutoff.isoformat(), len(split.after),
                      len(split.before), len(split.undated), split.after_mean,
                      split.before_mean, split.difference, interval, resamples, seed)


def entry_post_cutoff(entry: str | Path, release: str | Path, task: str,
                      resamples: int = RESAMPLES, seed: int = SEED) -> PostCutoff | None:
    """The post-cutoff score of a ``results/`` entry on one task of the release it ran on.

    Reads the model's ``release_date`` from the entry's ``model_meta.json`` (mteb's field),
    its ``<Task>.per_query.jsonl`` (:mod:`medteb.analysis.perquery`) and the query dates of the
    release folder ``release``. None when the model has no release date, the entry no
    per-query file for ``task``, or the release no dated query of it.

    Raises:
        ReleaseError: a per-query file of other data than the release's task (its data
            revision is not the release's), or an unreadable file.
    """
    from medteb.analysis.perquery import SUFFIX, read_per_query
    from medteb.benchmark.data.formats import read_retrieval
    from medteb.errors import MedtebError

    entry, release = Path(entry), Path(release)
    meta = json.loads((entry / "model_meta.json").read_text(encoding="utf-8"))
    release_date = meta.get("release_date")
    path = entry / f"{task}{SUFFIX}"
    if not release_date or not path.is_file():
        return None
    try:
        per_query = read_per_query(path)
        data = read_retrieval(release / task, "test", reranking=task.endswith("Rerank"))
    except MedtebError as err:
        raise ReleaseError(f"{entry.name}: {' '.join(str(err).split())}") from err
    if not data.query_dates:
        return None
    if not per_query.data_revision.endswith(f"-{data.revision}"):
        raise ReleaseError(f"{path}: per-query scores on data {per_query.data_revision!r}, "
                           f"not on {task} of {release} (content hash {data.revision})")
    return post_cutoff(per_query, data.query_dates, str(release_date)[:10], resamples, seed)


#: the tasks whose queries carry dates
DATED_TASKS = ("MedTEB-Retrieval", "MedTEB-Rerank")


def entry_cutoffs(entry: str | Path, release: str | None,
                  releases: str | os.PathLike | None = None) -> dict[str, PostCutoff]:
    """Each dated task's post-cutoff score of an entry on ``release``, found in the releases
    folder (``releases``, else ``MEDTEB_RELEASES_DIR``, else ``./releases``:
    :func:`medteb.release.manifest.releases_dir`); {} when the entry is on no release, the
    folder is absent, or :func:`entry_post_cutoff` finds nothing to split."""
    from medteb.release.manifest import MANIFEST, releases_dir

    if release is None:
        return {}
    folder = releases_dir(releases) / release
    if not (folder / MANIFEST).is_file():
        return {}
    found = {task: entry_post_cutoff(entry, folder, task) for task in DATED_TASKS
             if (folder / task).is_dir()}
    return {task: result for task, result in found.items() if result is not None}

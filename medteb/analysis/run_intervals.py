"""95% confidence intervals for the run table of ``medteb run --prediction-folder``.

Each scored task's predictions are scored per query (:mod:`medteb.analysis.perquery`) and
bootstrapped as the board does (:func:`medteb.analysis.ranking.rankings`: seeded, 10,000
resamples, each task's queries resampled independently for the averages).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from medteb.analysis.ranking import RESAMPLES, SEED
from medteb.errors import AnalysisError

if TYPE_CHECKING:
    from medteb.evaluation.runner import RunReport

#: what the run table prints when there are no predictions to compute intervals from
HOW_TO_GET_CI = ("95% confidence intervals: run again with --prediction-folder DIR (they are "
                 "computed from the per-query scores of the predictions; see docs/analysis.md)")


def run_intervals(report: RunReport, prediction_folder: str | os.PathLike,
                  data_dir: str | os.PathLike | None, resamples: int = RESAMPLES,
                  seed: int = SEED) -> dict[str, tuple[float, float]]:
    """{task or average: (lo, hi)} (0–1) of every scored task of the run and every complete
    average.

    Raises:
        AnalysisError: predictions missing or unreadable, or not fitting the task's data.
    """
    import numpy as np

    from medteb.analysis.perquery import from_predictions
    from medteb.analysis.ranking import rankings
    from medteb.analysis.stats import ScoreSet
    from medteb.benchmark.tasks import get_task
    from medteb.results.layout import predictions_file

    sets = {}
    for outcome in report.outcomes:
        if outcome.score is None:
            continue
        path = predictions_file(prediction_folder, outcome.name, report.model_name,
                                report.model_revision)
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise AnalysisError(f"{outcome.name}: no usable predictions at {path} ({err})") \
                from err
        task = get_task(outcome.name, data_dir=None if data_dir is None else str(data_dir))
        task.load_data()
        per_query = from_predictions(task, saved)
        sets[outcome.name] = ScoreSet(per_query.kind, np.atleast_2d(per_query.values),
                                      per_query.gold)
    ranked = rankings([report.model_name], sets, resamples=resamples, seed=seed)
    return {label: (float(r.ci[0][0]), float(r.ci[0][1])) for label, r in ranked.items()}

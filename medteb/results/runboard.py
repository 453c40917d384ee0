"""A private board of one's own runs: ``medteb leaderboard --results RUNS [--predictions P]``.

A run folder (``medteb run --output-folder``: ``<org__model>/<revision>/<Task>.json`` and
``model_meta.json``, no ``submission.yaml``) is read as board entries labelled *not submitted*:
no setting was declared, so a run on the bundled sample goes on the Sample board and any other
on the Zero-shot board. With the run's prediction folder (``medteb run --prediction-folder``)
each task is scored per query against its labels (:func:`medteb.analysis.runs.load_run`), so the
board shows the same 95% intervals, rank intervals and ties as ``results/``. Nothing here
touches the repository's ``results/`` path.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from medteb.errors import AnalysisError, ResultsError
from medteb.results.layout import (
    SUBMISSION_FILE,
    Entry,
    Submission,
    _read_scores,
    _revision_folders,
    entry_release,
    runs_root,
)

#: every row's Source footnote, and the board's title
NOT_SUBMITTED = "not submitted"
TITLE = "MedTEB leaderboard: your runs (not submitted)"


def is_run_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds runs and no submitted entry (a ``medteb run`` output folder)."""
    root = runs_root(Path(folder))
    revisions = _revision_folders(root) if root.is_dir() else []
    return (not any((r / SUBMISSION_FILE).is_file() for r in revisions)
            and any((r / "model_meta.json").is_file() for r in revisions))


def run_entries(folder: str | Path, predictions: str | Path | None = None,
                data_dir: str | None = None) -> tuple[list[Entry], list[str]]:
    """The runs of a run folder as board entries, and notes on what was passed over.

    Args:
        folder: a ``medteb run --output-folder`` (or an mteb cache with ``results/`` inside).
        predictions: its ``--prediction-folder``: each run's ``<org__model>/<revision>/``
            there is scored per query; a run without one gets no intervals.
        data_dir: the labels' data (default: the sample for a sample run, else the run's data
            as :func:`~medteb.analysis.runs.load_run` finds it).

    Raises:
        ResultsError: the folder holds no run, a result file is unreadable, or a run's
            predictions do not give its recorded scores.
    """
    from medteb.analysis.runs import load_run
    from medteb.benchmark.data.sources import any_sample

    root = runs_root(Path(folder))
    if not root.is_dir():
        raise ResultsError(f"results folder {str(root)!r} does not exist")
    entries: list[Entry] = []
    notes: list[str] = []
    cache: dict = {}
    for revision in _revision_folders(root):
        where = f"{revision.parent.name}/{revision.name}"
        if not (revision / "model_meta.json").is_file():
            continue
        if (revision / SUBMISSION_FILE).is_file():
            notes.append(f"{where}: submitted (it is on the results/ board)")
            continue
        meta = json.loads((revision / "model_meta.json").read_text(encoding="utf-8"))
        scores, revisions = _read_scores(revision)
        if not scores:
            notes.append(f"{where}: no MedTEB task result")
            continue
        name = str(meta.get("name") or revision.parent.name)
        sample = any_sample(revisions.values())
        submission = Submission(
            setting="sample" if sample else "zero-shot",
            display_name=f"{name[:60]} ({NOT_SUBMITTED})", provenance="reproduced",
            source=f"{NOT_SUBMITTED}: computed with `medteb run` into {root.as_posix()}/"
                   f"{where}" + ("" if sample else "; no setting declared, shown as zero-shot"))
        entry = Entry(model_name=name, revision=revision.name, submission=submission,
                      scores=scores, folder=where, release=entry_release(revisions, where))
        preds = None if predictions is None else Path(predictions) / where
        if preds is not None and preds.is_dir():
            try:
                run = load_run(preds, data_dir, cache)
            except AnalysisError as err:
                raise ResultsError(f"{where}: {err}") from err
            entry = replace(entry, per_query=_checked(run.scores, scores, where))
        elif predictions is not None:
            notes.append(f"{where}: no predictions in {Path(predictions).as_posix()}/{where} "
                         "(shown without intervals)")
        entries.append(entry)
    if not entries:
        raise ResultsError(f"{Path(folder).as_posix()}: no run here (a `medteb run "
                           "--output-folder`, <org__model>/<revision>/<Task>.json with "
                           "model_meta.json and no submission.yaml)")
    return entries, notes


def _checked(per_query: dict, scores: dict[str, float], where: str) -> dict:
    """The per-query scores of the tasks the run has a score for, each agreeing with it."""
    from medteb.results.verify import SCORE_TOLERANCE

    kept = {t: p for t, p in per_query.items() if t in scores}
    for task, values in kept.items():
        if abs(values.score - scores[task]) > SCORE_TOLERANCE:
            raise ResultsError(f"{where}: {task} predictions give {values.score:.6f}, but "
                               f"{task}.json says {scores[task]:.6f}: predictions of another "
                               "run or data? give the run's --data-dir")
    return kept

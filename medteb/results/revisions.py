"""Dataset revisions of a submission, and where results on the bundled sample are filed.

The policy (docs/submitting_results.md): CMedQAv1/v2 results carry mteb's pinned revision of the
task; a MedTEB task's result carries the revision of its published release, or, on the bundled
sample, the sample's ``sample-<hash>``. Results on the sample are filed under the model revision
``<revision>-sample``, so that one model's sample and benchmark results never share a folder.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from medteb.benchmark.data.sources import is_sample_revision, release_of_revision
from medteb.benchmark.definitions import NEW_TASKS, load_definitions

#: a model revision's suffix for results on the bundled sample (kept apart from benchmark ones)
SAMPLE_REVISION_SUFFIX = "-sample"


def filing_revision(revision: str, sample: bool) -> str:
    """The model revision results are filed under: ``<revision>-sample`` for results on the
    bundled sample (once: a revision already ending so is kept), else ``revision``."""
    if sample and not revision.endswith(SAMPLE_REVISION_SUFFIX):
        return revision + SAMPLE_REVISION_SUFFIX
    return revision


def sample_apart(where: str, revision: str, found: dict[str, str], sample: bool,
                 problems: list[str]) -> str:
    """The revision a result is filed under in results/: ``<revision>-sample`` for results on
    the bundled sample, so that a model's sample and benchmark results never share a folder
    (as ``medteb run`` files them); a folder mixing sample and other data is refused."""
    kinds = {task: "the bundled sample" if is_sample_revision(r) else r
             for task, r in found.items() if task in NEW_TASKS}
    if sample and len(set(kinds.values())) > 1:
        problems.append(f"{where}: mixes data: " + ", ".join(f"{t} on {k}" for t, k in
                                                             sorted(kinds.items()))
                        + "; a submission's MedTEB tasks must all be on the sample or all on "
                        "the benchmark data (run them separately)")
    if not sample and revision.endswith(SAMPLE_REVISION_SUFFIX):
        problems.append(f"{where}: model revision {revision!r} marks results on the bundled "
                        "sample, but no result was computed on it")
    return filing_revision(revision, sample)


def check_revisions(where: str, found: dict[str, str], sample: bool,
                    load_task: Callable[[str, str], Any], problems: list[str],
                    hidden: Collection[str] = ()) -> None:
    """Add a problem for each result whose dataset revision is not the task's current one.

    Args:
        found: {task: dataset revision} of the valid result files.
        sample: the results were computed on the bundled sample.
        load_task: (task name, 'sample' or 'release:V') -> the task with its data loaded;
            raises LookupError.
        hidden: the tasks the maintainer scored on hidden labels (``hidden_labels``); any
            other result on a release's label-free data is refused: no run can score it.

    A result on a release (``release-V-<hash>``) must carry the revision that the release
    folder of that version gives now (so a changed copy of the release is refused), and a
    folder's MedTEB tasks must all be on one release. A release that cannot be read for the
    same reason (no such folder) is one problem, naming the tasks it stopped.
    """
    definitions = load_definitions()
    releases = {t: release_of_revision(r) for t, r in found.items() if t in NEW_TASKS}
    if len(set(releases.values())) > 1:
        problems.append(f"{where}: mixes releases: " + ", ".join(
            f"{t} on {v or 'no release'}" for t, v in sorted(releases.items()))
            + "; run every MedTEB task on the same release (`medteb run --release V`)")
        return
    unreadable: dict[str, list[str]] = {}  # a release's read error -> the tasks it stopped
    for task, revision in found.items():
        definition = definitions[task]
        if definition.kind == "mteb":
            import mteb

            expected = mteb.get_task(task).metadata.revision
        elif sample:
            try:
                expected = load_task(task, "sample").metadata.revision
            except LookupError as err:
                problems.append(f"{where}/{task}.json: cannot read the bundled sample: {err}")
                continue
        elif (version := releases.get(task)) is not None:
            try:
                public = load_task(task, f"release:{version}")
            except LookupError as err:  # a missing release folder: one line for all tasks
                unreadable.setdefault(f"cannot read release {version}: {err}", []).append(task)
                continue
            expected = public.metadata.revision
            if revision == expected and task not in hidden and \
                    getattr(public, "labelled", True) is False:
                problems.append(f"{where}/{task}.json: release {version} hides {task}'s "
                                "labels, so no run can score it: hand in the predictions for "
                                "the maintainer to score (`medteb submit --labels`, "
                                "docs/maintaining.md)")
                continue
        elif definition.source.huggingface is None:
            problems.append(f"{where}/{task}.json: dataset revision {revision!r} cannot be "
                            f"accepted: the official {task} data has no published revision yet "
                            "(task.yaml source.huggingface is null), so only sample results "
                            "are accepted for it")
            continue
        else:
            expected = definition.source.huggingface.revision
        if revision != expected:
            problems.append(f"{where}/{task}.json: dataset revision {revision!r} is not the "
                            f"task's current revision {expected!r}; re-run on the current data")
    for message, tasks in unreadable.items():
        problems.append(f"{where}/{tasks[0]}.json: {message}" if len(tasks) == 1 else
                        f"{where} ({', '.join(f'{t}.json' for t in tasks)}): {message}")

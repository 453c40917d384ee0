"""``medteb release create``: a ``medteb build`` export -> an immutable release folder.

The release is written into a temporary folder beside its final place and renamed when
complete, so a failure leaves nothing behind. Without ``--queries-after`` the task files are
copied byte for byte; with it, each Retrieval/Rerank task keeps the queries dated after the
date and the documents, judgments and candidates they use.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medteb.release.manifest import (
    MANIFEST,
    Manifest,
    ReleaseError,
    TaskSummary,
    check_version,
    file_entry,
    list_releases,
    read_manifest,
)

RETRIEVAL_TASKS = ("MedTEB-Retrieval", "MedTEB-Rerank")
ALL_TASKS = (*RETRIEVAL_TASKS, "MedTEB-STS")


def _read_task(folder: Path, task: str) -> Any:
    from medteb.benchmark.data.formats import read_retrieval, read_sts

    if task == "MedTEB-STS":
        return read_sts(folder, "test", (0, 1))
    return read_retrieval(folder, "test", reranking=task == "MedTEB-Rerank")


def query_texts(folder: Path) -> dict[str, list[tuple[str, str]]]:
    """Normalised query text -> its (task, query id)s, over a release's Retrieval/Rerank tasks."""
    from medteb.contamination.normalise import normalise

    texts: dict[str, list[tuple[str, str]]] = {}
    for task in RETRIEVAL_TASKS:
        path = folder / task / "queries.jsonl"
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    texts.setdefault(normalise(row["text"]), []).append((task, row["_id"]))
    return texts


def _jsonl_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")


def _filter_task(source: Path, target: Path, task: str, after: str) -> None:
    """Write ``task`` keeping the queries dated after ``after`` and what they use."""
    data = _read_task(source, task)
    keep = {q for q, day in data.query_dates.items() if day > after}
    if not keep:
        latest = max(data.query_dates.values(), default=None)
        raise ReleaseError(f"{source}: no query is dated after {after} ("
                           f"{len(data.query_dates)} dated, the latest {latest}); nothing to "
                           "release for this task")
    used = {d for q in keep for d in data.relevant_docs[q]}
    if data.top_ranked is not None:
        used |= {d for q in keep for d in data.top_ranked[q]}
    _write_jsonl(target / "queries.jsonl",
                 [r for r in _jsonl_rows(source / "queries.jsonl") if r.get("_id") in keep])
    _write_jsonl(target / "corpus.jsonl",
                 [r for r in _jsonl_rows(source / "corpus.jsonl") if r.get("_id") in used])
    (target / "qrels").mkdir()
    (target / "qrels/test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{s}\n" for q in sorted(keep) for d, s in sorted(data.relevant_docs[q].items())),
        encoding="utf-8")
    if data.top_ranked is not None:
        _write_jsonl(target / "top_ranked/test.jsonl",
                     [r for r in _jsonl_rows(source / "top_ranked/test.jsonl")
                      if r.get("query-id") in keep])


def _summary(folder: Path, task: str) -> TaskSummary:
    data = _read_task(folder, task)
    if task == "MedTEB-STS":
        return TaskSummary(queries=len(data.rows), documents=len(data.rows), dated_queries=0,
                           first_date=None, last_date=None)
    dates = sorted(data.query_dates.values())
    return TaskSummary(queries=len(data.queries), documents=len(data.corpus),
                       dated_queries=len(dates), first_date=dates[0] if dates else None,
                       last_date=dates[-1] if dates else None)


def _ancestors(root: Path, parent: str | None) -> list[Manifest]:
    chain: list[Manifest] = []
    while parent is not None:
        if any(m.version == parent for m in chain):
            raise ReleaseError(f"release {parent}: its parents form a cycle")
        chain.append(read_manifest(root / parent))
        parent = chain[-1].parent
    return chain


def shared_queries(folder: Path, root: Path, parent: str | None) -> dict[str, list[str]]:
    """Queries of ``folder`` whose normalised text is in an earlier release: task -> ids."""
    mine = query_texts(folder)
    shared: dict[str, list[str]] = {}
    for earlier in _ancestors(root, parent):
        for text in query_texts(root / earlier.version).keys() & mine.keys():
            for task, qid in mine[text]:
                shared.setdefault(task, []).append(qid)
    return {task: sorted(set(ids)) for task, ids in sorted(shared.items())}


def create_release(export_dir: str | os.PathLike, root: Path, version: str, *,
                   queries_after: str | None = None, parent: str | None = None,
                   no_parent: bool = False, allow_shared: bool = False,
                   today: datetime.date | None = None) -> Manifest:
    """Cut release ``version`` from a ``medteb build`` export into ``root/version``.

    Args:
        export_dir: the folder ``medteb build export`` wrote (task folders + datasheet.json).
        root: the releases folder.
        queries_after: keep only queries dated after this ``YYYY-MM-DD`` date.
        parent: the parent release; default the latest release in ``root`` (none with
            ``no_parent``).
        allow_shared: declare queries shared with an earlier release (recorded in the
            manifest) instead of refusing them.

    Raises:
        ReleaseError: the version exists or is malformed, the export is incomplete, no query
            is dated after ``queries_after``, queries are shared with an earlier release.
    """
    from medteb.benchmark.data.formats import date_problem

    check_version(version)
    source = Path(export_dir)
    if queries_after is not None and date_problem(queries_after):
        raise ReleaseError(f"--queries-after {queries_after!r}: not a YYYY-MM-DD calendar date")
    if not (source / "datasheet.json").is_file():
        raise ReleaseError(f"{source}: not a `medteb build export` folder (no datasheet.json)")
    tasks = [t for t in ALL_TASKS if (source / t).is_dir()]
    if not tasks:
        raise ReleaseError(f"{source}: holds none of {', '.join(ALL_TASKS)}")
    if (root / version).exists():
        raise ReleaseError(f"release {version} already exists in {root}; a release is never "
                           "changed: choose a new version")
    earlier = list_releases(root)
    if no_parent:
        parent = None
    elif parent is None:
        parent = earlier[-1].version if earlier else None
    elif not (root / parent / MANIFEST).is_file():
        raise ReleaseError(f"--parent {parent}: no such release in {root}")
    build = json.loads((source / "datasheet.json").read_text(encoding="utf-8"))
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=root))
    try:
        for task in tasks:
            if queries_after is not None and task in RETRIEVAL_TASKS:
                _filter_task(source / task, staging / task, task, queries_after)
            else:
                _read_task(source / task, task)  # validate before copying
                shutil.copytree(source / task, staging / task)
        for extra in ("datasheet.md", "datasheet.json"):
            if (source / extra).is_file():
                shutil.copyfile(source / extra, staging / extra)
        shared = shared_queries(staging, root, parent)
        if shared and not allow_shared:
            listed = "; ".join(f"{t}: {', '.join(ids[:5])}" + (" ..." if len(ids) > 5 else "")
                               for t, ids in shared.items())
            raise ReleaseError("queries already in an earlier release ("
                               f"{listed}); pass --allow-shared to declare "
                               "them, or leave them out of the build")
        manifest = _manifest(staging, version, tasks, parent, queries_after, shared, build,
                             today or datetime.datetime.now(datetime.timezone.utc).date())
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n",
                                        encoding="utf-8")
        os.chmod(staging, 0o755)
        staging.rename(root / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _manifest(staging: Path, version: str, tasks: list[str], parent: str | None,
              queries_after: str | None, shared: Mapping[str, list[str]],
              build: dict[str, Any], today: datetime.date) -> Manifest:
    files = [file_entry(staging, p) for p in sorted(staging.rglob("*")) if p.is_file()]
    return Manifest(version=version, created=today.isoformat(), parent=parent,
                    queries_after=queries_after, files=files,
                    tasks={t: _summary(staging / t, t) for t in tasks},
                    declared_shared=dict(shared), build=build)

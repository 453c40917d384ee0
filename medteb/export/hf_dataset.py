"""``medteb export hf-dataset``: MedTEB-format data -> the Hugging Face dataset layout mteb loads.

Each task becomes one dataset folder, ready to upload as one Hub dataset repository (mteb's
convention: one repository per task)::

    OUT/<Task>/README.md                        dataset card: configs, license, citation
    OUT/<Task>/corpus/test-00000-of-00001.parquet      _id, title, text (Retrieval, Reranking)
    OUT/<Task>/queries/test-00000-of-00001.parquet     _id, text
    OUT/<Task>/qrels/test-00000-of-00001.parquet       query-id, corpus-id, score ("default")
    OUT/<Task>/top_ranked/test-00000-of-00001.parquet  query-id, corpus-ids (Reranking)
    OUT/<Task>/data/test-00000-of-00001.parquet        sentence1, sentence2, score (STS)

``datasets.load_dataset("OUT/<Task>", "corpus", split="test")`` and mteb's own retrieval and STS
loaders read the folder as it is. Each task folder is written to a temporary folder and renamed,
so an interrupted export leaves no half-written task.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medteb._fileio import write_folder
from medteb.benchmark.citation import BENCHMARK_CITATION
from medteb.benchmark.data.formats import read_retrieval, read_sts
from medteb.benchmark.data.sources import chosen_task_folders, resolve_source
from medteb.benchmark.definitions import TaskDefinition, load_definitions
from medteb.errors import MedtebError

SPLIT_FILE = "{split}-00000-of-00001.parquet"
#: Hub ``license`` ids for task.yaml licenses that are not one already
_HUB_LICENSES = {"not specified": "unknown"}
_TASK_CATEGORIES = {"Retrieval": "text-retrieval", "Reranking": "text-ranking",
                    "STS": "sentence-similarity"}


class ExportError(MedtebError, ValueError):
    """An export that cannot be written (missing data, existing output, unpublished dataset)."""


@dataclass(frozen=True)
class ExportedTask:
    """One task written by :func:`export_hf_dataset`.

    Attributes:
        name: the task name.
        folder: ``OUT/<Task>``.
        rows: rows written per configuration (e.g. ``{"corpus": 80, "queries": 30, ...}``).
        revision: the content hash of the source data (the revision MedTEB records for it).
    """

    name: str
    folder: Path
    rows: dict[str, int]
    revision: str


def _write_parquet(path: Path, rows: list[dict[str, Any]], columns: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema(list(columns.items()))
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path)


def _retrieval_tables(definition: TaskDefinition, folder: Path,
                      split: str) -> tuple[dict[str, tuple[list[dict], dict]], str]:
    import pyarrow as pa

    data = read_retrieval(folder, split, reranking=definition.type == "Reranking")
    tables = {
        "corpus": ([{"_id": d["id"], "title": d.get("title", ""), "text": d["text"]}
                    for d in data.corpus],
                   {"_id": pa.string(), "title": pa.string(), "text": pa.string()}),
        "queries": ([{"_id": q["id"], "text": q["text"]} for q in data.queries],
                    {"_id": pa.string(), "text": pa.string()}),
        "qrels": ([{"query-id": qid, "corpus-id": did, "score": score}
                   for qid, docs in data.relevant_docs.items() for did, score in docs.items()],
                  {"query-id": pa.string(), "corpus-id": pa.string(), "score": pa.int64()}),
    }
    if data.top_ranked is not None:
        tables["top_ranked"] = (
            [{"query-id": qid, "corpus-ids": ids} for qid, ids in data.top_ranked.items()],
            {"query-id": pa.string(), "corpus-ids": pa.list_(pa.string())},
        )
    return tables, data.revision


def _sts_tables(definition: TaskDefinition, folder: Path,
                split: str) -> tuple[dict[str, tuple[list[dict], dict]], str]:
    import pyarrow as pa

    data = read_sts(folder, split, definition.score_range)
    return {"data": (data.rows, {"sentence1": pa.string(), "sentence2": pa.string(),
                                 "score": pa.float64()})}, data.revision


def _config_name(folder_name: str) -> str:
    # mteb's retrieval loader reads the qrels from the "default" configuration
    return "default" if folder_name in ("qrels", "data") else folder_name


def dataset_card(definition: TaskDefinition, configs: Sequence[str], splits: Sequence[str],
                 rows: dict[str, int], revision: str) -> str:
    """The ``README.md`` of one exported task: Hub YAML header (configs, license) and datasheet."""
    metadata = definition.metadata
    license_id = _HUB_LICENSES.get(str(metadata.get("license")), metadata.get("license"))
    header = {
        "language": ["zh"],
        "license": license_id,
        "pretty_name": metadata["name"],
        "task_categories": [_TASK_CATEGORIES[str(definition.type)]],
        "tags": ["mteb", "medical", "CMedTEB", "MedTEB"],
        "configs": [
            {"config_name": _config_name(folder),
             "data_files": [{"split": split, "path": f"{folder}/{split}-*.parquet"}
                            for split in splits],
             # datasets keys its cache of a local folder by the folder's name and these configs,
             # never by the files: the content hash here keeps two exports apart
             "description": f"MedTEB export, content hash {revision}"}
            for folder in configs
        ],
    }
    counts = ", ".join(f"{name}: {count}" for name, count in rows.items())
    description = " ".join(str(metadata["description"]).split())
    return (
        "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n\n"
        f"# {metadata['name']}\n\n{description}\n\n"
        f"Part of the CMedTEB (MedTEB) benchmark, evaluated with "
        f"[mteb](https://github.com/embeddings-benchmark/mteb): task type {definition.type}, "
        f"main score `{metadata['main_score']}`, language `cmn-Hans`, splits "
        f"{', '.join(splits)}.\n\n"
        f"Rows: {counts}. Exported by `medteb export hf-dataset` from data whose MedTEB content "
        f"hash is `{revision}`.\n\n"
        f"License: {metadata.get('license')} (the paper states that the data is for "
        "non-commercial research use).\n\n"
        "## Citation\n\n```bibtex\n" + BENCHMARK_CITATION + "\n```\n"
    )


def _export_task(definition: TaskDefinition, source_folder: Path, target: Path,
                 public_only: bool = False) -> ExportedTask:
    from medteb.export.public import PUBLIC_NOTE, has_labels, public_revision, without_labels

    splits = list(definition.metadata["eval_splits"])
    build: Callable = _sts_tables if definition.type == "STS" else _retrieval_tables
    per_split = {split: build(definition, source_folder, split) for split in splits}
    if not public_only and not all(has_labels(t) for t, _ in per_split.values()):
        raise ExportError(f"{definition.name}: {source_folder} has no labels (the public part "
                          "of a hidden-label release); export it with --public-only")
    if public_only:  # a hidden-label release: no label leaves the maintainer's folder; the
        # revision is the public tables' own hash, the same from the labels or the public folder
        per_split = {s: (without_labels(t), "") for s, (t, _) in per_split.items()}
        per_split = {s: (t, public_revision(t)) for s, (t, _) in per_split.items()}
    revision = "-".join(rev for _, rev in per_split.values())
    configs = list(next(iter(per_split.values()))[0])
    rows = {_config_name(name): sum(len(t[name][0]) for t, _ in per_split.values())
            for name in configs}

    def fill(staging: Path) -> None:
        for split, (tables, _) in per_split.items():
            for name, (table_rows, columns) in tables.items():
                _write_parquet(staging / name / SPLIT_FILE.format(split=split), table_rows,
                               columns)
        card = dataset_card(definition, configs, splits, rows, revision) + (
            PUBLIC_NOTE if public_only else "")
        (staging / "README.md").write_text(card, encoding="utf-8")
        (staging / "medteb_export.json").write_text(json.dumps(
            {"task": definition.name, "source_revision": revision, "rows": rows}, indent=2,
            sort_keys=True) + "\n", encoding="utf-8")

    write_folder(target, fill)  # replaced only once the new folder is complete
    return ExportedTask(definition.name, target, rows, revision)


def export_hf_dataset(data_dir: str | os.PathLike, out: str | os.PathLike,
                      tasks: Sequence[str] | None = None, *, overwrite: bool = False,
                      progress: Callable[[str], None] | None = None,
                      public_only: bool = False) -> list[ExportedTask]:
    """Write MedTEB tasks from a data directory (or ``"sample"``) as Hub dataset folders.

    Args:
        data_dir: a directory holding ``<TaskName>/`` folders in MedTEB's format, or ``"sample"``.
        out: the output folder; each task goes to ``out/<TaskName>``.
        tasks: the tasks to export; ``None`` exports every MedTEB task present in ``data_dir``.
        overwrite: replace existing ``out/<TaskName>`` folders.
        progress: called with one line per task as it is written.
        public_only: leave every label out (qrels, STS scores): the part of a hidden-label
            release that may be published (:mod:`medteb.export.public`).

    Returns:
        The exported tasks, in benchmark order.

    Raises:
        ExportError: an unknown or absent task, or an existing output without ``overwrite``.
        DataValidationError: the data breaks MedTEB's format (nothing is written for the task).
    """
    own = {name: d for name, d in load_definitions().items() if d.kind == "medteb"}
    chosen = chosen_task_folders(data_dir, tasks, own, ExportError)
    sources = {d.name: Path(resolve_source(d, data_dir).location) for d in chosen}
    root = Path(out)
    existing = [str(root / d.name) for d in chosen if (root / d.name).exists()]
    if existing and not overwrite:
        raise ExportError(f"{', '.join(existing)} already exist(s); pass --overwrite to replace")
    root.mkdir(parents=True, exist_ok=True)
    exported = []
    for definition in chosen:
        target = root / definition.name
        exported.append(_export_task(definition, sources[definition.name], target,
                                     public_only))
        if progress is not None:
            counts = ", ".join(f"{k} {v}" for k, v in exported[-1].rows.items())
            progress(f"{definition.name}: {counts} -> {target}")
    return exported

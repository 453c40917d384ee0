"""``medteb export mteb``: the files of a pull request that adds CMedTEB to mteb itself.

mteb's maintainers take a benchmark as ordinary mteb tasks whose data lives on the Hugging Face
Hub at a pinned revision. This module writes, under ``OUT`` and in mteb's own layout:

- ``mteb/tasks/{retrieval,reranking,sts}/zho/cmedteb_*.py``: one task class per MedTEB task,
  its ``TaskMetadata`` filled in and validated here, citations normalised;
- the ``__init__.py`` of each of those folders with the task's import and ``__all__`` entry
  added (starting from OUT's copy when OUT is an mteb checkout, else the installed mteb's);
- ``mteb/benchmarks/benchmarks/cmedteb.py`` (the benchmark, alias ``CMedTEB``) and the package's
  ``__init__.py`` with its import;
- ``mteb/descriptive_stats/<Type>/<Task>.json``, computed by mteb from the data;
- ``PR_DESCRIPTION.md``, the pull request's text and checklist (docs/upstreaming.md).

Nothing is written unless every task has a published dataset: the ``source.huggingface`` of its
``task.yaml``, or ``--dataset-repo`` / ``--dataset-revision`` given on the command line.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medteb._fileio import write_atomic
from medteb.benchmark.citation import BENCHMARK_CITATION
from medteb.benchmark.definitions import CMEDQA_TASKS, NEW_TASKS, TaskDefinition, load_definitions
from medteb.export.hf_dataset import ExportError

REFERENCE = "https://arxiv.org/abs/2604.10937"
_REVISION = re.compile(r"[0-9a-f]{40}")
_REPO = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
#: task type -> (mteb tasks folder, module name suffix, base class module, base class)
_LAYOUT = {
    "Retrieval": ("retrieval", "retrieval", "mteb.abstasks.retrieval", "AbsTaskRetrieval"),
    "Reranking": ("reranking", "reranking", "mteb.abstasks.retrieval", "AbsTaskRetrieval"),
    "STS": ("sts", "sts", "mteb.abstasks.sts", "AbsTaskSTS"),
}


@dataclass(frozen=True)
class HubDataset:
    """Where one task's data is published."""

    path: str
    revision: str


@dataclass(frozen=True)
class TaskModule:
    """One generated task module."""

    task: str
    class_name: str
    type: str
    relative_path: str  # e.g. mteb/tasks/retrieval/zho/cmedteb_retrieval.py
    source: str
    metadata: dict[str, Any]


def class_name(task: str) -> str:
    """The Python class name of a task (``MedTEB-Retrieval`` -> ``MedTEBRetrieval``)."""
    return task.replace("-", "")


def resolve_datasets(definitions: Sequence[TaskDefinition], repos: Sequence[str] = (),
                     revisions: Sequence[str] = ()) -> dict[str, HubDataset]:
    """Each task's published dataset, from the command line or from its ``task.yaml``.

    Args:
        definitions: the tasks being exported.
        repos: ``TASK=ORG/NAME`` items, or one bare ``ORG/NAME`` when one task is exported.
        revisions: ``TASK=SHA`` items (40-hex Hub commit), or one bare ``SHA`` likewise.

    Raises:
        ExportError: a malformed item, or a task with no published dataset; the message says
            which and how to give it.
    """
    names = [d.name for d in definitions]

    def per_task(items: Sequence[str], option: str, pattern: re.Pattern) -> dict[str, str]:
        parsed: dict[str, str] = {}
        for item in items:
            task, sep, value = item.rpartition("=")
            if not sep:
                if len(names) != 1:
                    raise ExportError(f"{option} {item!r}: with several tasks give TASK=VALUE "
                                      f"(tasks: {', '.join(names)})")
                task, value = names[0], item
            if task not in names:
                raise ExportError(f"{option} {item!r}: {task!r} is not one of the exported "
                                  f"tasks ({', '.join(names)})")
            if not pattern.fullmatch(value):
                want = "ORG/NAME" if pattern is _REPO else "a 40-character Hub commit SHA"
                raise ExportError(f"{option} {item!r}: expected {want}")
            parsed[task] = value
        return parsed

    repo_of = per_task(repos, "--dataset-repo", _REPO)
    revision_of = per_task(revisions, "--dataset-revision", _REVISION)
    datasets, missing = {}, []
    for definition in definitions:
        name = definition.name
        release = definition.source.huggingface
        repo = repo_of.get(name) or (release.path if release else None)
        revision = revision_of.get(name) or (release.revision if release else None)
        if repo is None or revision is None:
            missing.append(name)
            continue
        datasets[name] = HubDataset(repo, revision)
    if missing:
        example = " ".join(f"--dataset-repo {n}=ORG/NAME --dataset-revision {n}=SHA"
                           for n in missing[:1])
        raise ExportError(
            f"no published dataset for {', '.join(missing)}: their task.yaml has no "
            "source.huggingface and no --dataset-repo/--dataset-revision was given. Upload "
            f"`medteb export hf-dataset` output to the Hub, then pass e.g. {example}"
        )
    return datasets


def task_metadata_fields(definition: TaskDefinition, dataset: HubDataset) -> dict[str, Any]:
    """The ``TaskMetadata`` keyword arguments of the upstream task (validated by mteb).

    Raises:
        ExportError: mteb rejects the metadata, or it leaves a field mteb wants filled empty.
    """
    from mteb.abstasks.task_metadata import TaskMetadata

    fields = dict(definition.metadata)
    fields["dataset"] = {"path": dataset.path, "revision": dataset.revision}
    fields.setdefault("reference", REFERENCE)
    fields["description"] = " ".join(str(fields["description"]).split())
    fields["bibtex_citation"] = BENCHMARK_CITATION
    order = ["name", "description", "reference", "dataset", "type", "category", "modalities",
             "eval_splits", "eval_langs", "main_score", "date", "domains", "task_subtypes",
             "license", "annotations_creators", "dialect", "sample_creation", "bibtex_citation",
             "prompt"]
    fields = {k: fields[k] for k in [*order, *sorted(set(fields) - set(order))] if k in fields}
    try:
        metadata = TaskMetadata(**fields)
    except Exception as err:  # pydantic's ValidationError, with mteb's own messages
        raise ExportError(f"{definition.name}: mteb rejects the metadata: {err}") from err
    if not metadata.is_filled():
        empty = [f for f in type(metadata).model_fields if getattr(metadata, f) is None]
        raise ExportError(f"{definition.name}: metadata fields left empty: {', '.join(empty)}")
    return fields


def _literal(value: Any, indent: int) -> str:
    if isinstance(value, str) and "\n" in value:
        return 'r"""\n' + value.strip("\n") + '\n"""'
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        items = ", ".join(_literal(v, indent) for v in value)
        return f"({items})" if isinstance(value, tuple) else f"[{items}]"
    if isinstance(value, dict):
        pad = " " * (indent + 4)
        items = "".join(f"{pad}{json.dumps(k)}: {_literal(v, indent + 4)},\n"
                        for k, v in value.items())
        return "{\n" + items + " " * indent + "}"
    return repr(value)


def task_module(definition: TaskDefinition, dataset: HubDataset) -> TaskModule:
    """Render one task's module, as mteb keeps it under ``mteb/tasks/<type>/zho/``."""
    folder, suffix, base_module, base = _LAYOUT[str(definition.type)]
    fields = task_metadata_fields(definition, dataset)
    if isinstance(fields.get("date"), list):
        fields["date"] = tuple(fields["date"])
    name = class_name(definition.name)
    body = "".join(f"        {key}={_literal(value, 8)},\n" for key, value in fields.items())
    extra = ""
    if definition.type == "STS":
        low, high = definition.score_range
        extra = f"\n    min_score = {low:g}\n    max_score = {high:g}\n"
    source = (
        f"from {base_module} import {base}\n"
        "from mteb.abstasks.task_metadata import TaskMetadata\n\n\n"
        f"class {name}({base}):\n"
        f"    metadata = TaskMetadata(\n{body}    )\n{extra}"
    )
    path = f"mteb/tasks/{folder}/zho/cmedteb_{suffix}.py"
    return TaskModule(definition.name, name, str(definition.type), path, source, fields)


def _sort_key(name: str) -> tuple[int, str]:
    """isort's order for ``__all__`` (constants, then classes, then the rest), as ruff applies."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def add_to_init(text: str, module: str, names: Sequence[str]) -> str:
    """Add ``from <module> import <names>`` and the names to ``__all__`` in an ``__init__.py``.

    The import goes before the first ``from`` import of a later module; each name goes before
    the first ``__all__`` entry that sorts after it; the rest of the file is kept as it is.
    """
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    line = f"from {module} import {', '.join(names)}\n"
    if line in lines:
        return text
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    position = next((n.lineno - 1 for n in imports
                     if ("." * n.level + (n.module or "")) > module), None)
    all_node = next((n for n in tree.body if isinstance(n, ast.Assign)
                     and any(getattr(t, "id", None) == "__all__" for t in n.targets)), None)
    if position is None:
        position = all_node.lineno - 2 if all_node is not None else len(lines)
        position = max(position, 0)
    exported = list(ast.literal_eval(all_node.value)) if all_node is not None else []
    for name in names:
        if name not in exported:
            index = next((i for i, e in enumerate(exported) if _sort_key(e) > _sort_key(name)),
                         len(exported))
            exported.insert(index, name)
    new_all = "__all__ = [\n" + "".join(f'    "{n}",\n' for n in exported) + "]\n"
    if all_node is not None:
        head = lines[:all_node.lineno - 1]
        tail = lines[all_node.end_lineno:]
    else:
        head, tail = lines, ["\n"]
    head.insert(position, line)
    return "".join([*head, new_all, *tail])


def benchmark_module() -> str:
    """``mteb/benchmarks/benchmarks/cmedteb.py``: the benchmark with its CMedTEB alias."""
    tasks = ", ".join(json.dumps(t) for t in (*CMEDQA_TASKS, *NEW_TASKS))
    return (
        "from mteb.benchmarks.benchmark import (\n"
        "    Benchmark,\n    BenchmarkAggregation,\n    CustomGroup,\n    CustomGrouping,\n)\n"
        "from mteb.get_tasks import MTEBTasks, get_tasks\n\n"
        f"_TASKS = get_tasks(tasks=[{tasks}])\n"
        "_BY_NAME = {task.metadata.name: task for task in _TASKS}\n\n"
        "MEDTEB = Benchmark(\n"
        '    name="MedTEB",\n'
        '    aliases=["CMedTEB"],\n'
        '    display_name="CMedTEB (Chinese medical)",\n'
        "    tasks=MTEBTasks(_TASKS),\n"
        '    description="CMedTEB (MedTEB), the Chinese Medical Text Embedding Benchmark: '
        "retrieval, reranking and medical-synonym STS curated with multi-LLM voting and "
        "validated by clinical experts, plus the public CMedQAv1/v2 reranking tasks. "
        "'Mean (Task)' is the average of all five; the groups give the CMedQA and new-task "
        'averages.",\n'
        f'    reference="{REFERENCE}",\n'
        f'    citation=r"""{BENCHMARK_CITATION}""",\n'
        "    aggregations=(\n"
        "        BenchmarkAggregation.MEAN_TASK,\n"
        "        CustomGrouping(\n"
        '            name="MedTEB",\n'
        "            groups=(\n"
        "                CustomGroup(\n"
        '                    label="CMedQA avg",\n'
        f"                    tasks=[_BY_NAME[n] for n in {json.dumps(list(CMEDQA_TASKS))}],\n"
        '                    description="Mean of CMedQAv1-reranking and CMedQAv2-reranking",\n'
        "                ),\n"
        "                CustomGroup(\n"
        '                    label="New-task avg",\n'
        f"                    tasks=[_BY_NAME[n] for n in {json.dumps(list(NEW_TASKS))}],\n"
        '                    description="Mean of MedTEB-Retrieval, MedTEB-Rerank and '
        'MedTEB-STS",\n'
        "                ),\n"
        "            ),\n"
        "        ),\n"
        "    ),\n"
        ")\n"
    )


def split_descriptive_statistics(task: Any, split: str) -> dict[str, Any]:
    """mteb's descriptive statistics of one split, computed without writing into mteb's package.

    ``AbsTask.calculate_descriptive_statistics`` saves into the installed mteb's folder, so this
    calls the per-split method it uses, through :mod:`medteb._mteb`.
    """
    from medteb._mteb import split_statistics

    # MedTEB's local loader keeps mteb's monolingual data under the "default" subset
    subset = "default" if "default" in (task.dataset or {}) else None
    return split_statistics(task, split, subset)


def descriptive_statistics(data_dir: str | os.PathLike,
                           tasks: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``{task: {split: statistics}}`` for MedTEB's tasks on a data directory (or the sample)."""
    from medteb.benchmark.tasks import get_task

    stats = {}
    for name in tasks:
        task = get_task(name, data_dir=data_dir)
        task.load_data()
        stats[name] = {split: split_descriptive_statistics(task, split)
                       for split in task.metadata.eval_splits}
    return stats


def _installed_mteb_file(relative: str) -> Path:
    import mteb

    return Path(mteb.__file__).parent.parent / relative


def export_mteb(out: str | os.PathLike, data_dir: str | os.PathLike,
                tasks: Sequence[str] | None = None, repos: Sequence[str] = (),
                revisions: Sequence[str] = (),
                progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write the pull-request files for mteb under ``out`` and return their paths.

    Args:
        out: the output folder (an mteb checkout, or an empty folder to copy from).
        data_dir: the data the descriptive statistics are computed from (a MedTEB data
            directory, or ``"sample"``); the same data as the published datasets.
        tasks: MedTEB tasks to export (default: all three; the benchmark file needs all).
        repos, revisions: see :func:`resolve_datasets`.
        progress: called with one line per step.

    Raises:
        ExportError: no published dataset, an unknown task, or metadata mteb rejects; nothing is
            written then.
    """
    own = {n: d for n, d in load_definitions().items() if d.kind == "medteb"}
    names = list(tasks) if tasks else list(own)
    unknown = [n for n in names if n not in own]
    if unknown:
        raise ExportError(f"not a MedTEB task: {', '.join(unknown)} (choose from "
                          f"{', '.join(own)})")
    definitions = [own[n] for n in names]
    datasets = resolve_datasets(definitions, repos, revisions)
    modules = [task_module(d, datasets[d.name]) for d in definitions]
    root = Path(out)
    files: dict[str, str] = {m.relative_path: m.source for m in modules}
    for module in modules:
        init = str(Path(module.relative_path).parent / "__init__.py")
        base = root / init if (root / init).is_file() else _installed_mteb_file(init)
        current = files.get(init, base.read_text(encoding="utf-8"))
        files[init] = add_to_init(current, f".{Path(module.relative_path).stem}",
                                  [module.class_name])
    if set(names) != set(NEW_TASKS) and progress is not None:
        progress("benchmark definition not written: it needs all of " + ", ".join(NEW_TASKS))
    if set(names) == set(NEW_TASKS):
        files["mteb/benchmarks/benchmarks/cmedteb.py"] = benchmark_module()
        init = "mteb/benchmarks/benchmarks/__init__.py"
        base = root / init if (root / init).is_file() else _installed_mteb_file(init)
        files[init] = add_to_init(base.read_text(encoding="utf-8"),
                                  "mteb.benchmarks.benchmarks.cmedteb", ["MEDTEB"])
    if progress is not None:
        progress(f"computing descriptive statistics on {data_dir}")
    for module, (name, stats) in zip(modules, descriptive_statistics(data_dir, names).items(),
                                     strict=True):
        path = f"mteb/descriptive_stats/{module.type}/{name}.json"
        files[path] = json.dumps(stats, indent=4, ensure_ascii=False) + "\n"
    files["PR_DESCRIPTION.md"] = pr_description(modules, datasets)
    written = []
    for relative, text in files.items():
        write_atomic(root / relative, text)
        written.append(root / relative)
        if progress is not None:
            progress(f"wrote {root / relative}")
    return written


def pr_description(modules: Sequence[TaskModule], datasets: Mapping[str, HubDataset]) -> str:
    """The pull request's text: what is added, where the data is, and mteb's checklist."""
    rows = "".join(
        f"| {m.task} | {m.type} | `{m.metadata['main_score']}` | "
        f"[{datasets[m.task].path}](https://huggingface.co/datasets/{datasets[m.task].path}) "
        f"@ `{datasets[m.task].revision[:10]}` |\n" for m in modules
    )
    return (
        "# Add CMedTEB (MedTEB): Chinese medical retrieval, reranking and STS\n\n"
        "Adds the three new tasks of CMedTEB (\"CMedTEB & CARE\", ACL 2026, "
        f"{REFERENCE}) and the benchmark `MedTEB` (alias `CMedTEB`), which also includes "
        "mteb's CMedQAv1/v2 reranking tasks unchanged.\n\n"
        "| Task | Type | Main score | Dataset |\n|---|---|---|---|\n" + rows + "\n"
        "## Checklist (mteb's pull-request template; see MedTEB's docs/upstreaming.md)\n\n"
        "- [ ] The dataset fills a gap in mteb: Chinese medical retrieval, reranking and "
        "medical-synonym STS with expert-validated labels\n"
        "- [ ] The datasets are public on the Hub at the pinned revisions above\n"
        "- [ ] I have tested that the tasks run with the mteb package\n"
        "- [ ] I have run sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2 and "
        "intfloat/multilingual-e5-small on the tasks (results attached); the scores are neither "
        "trivial nor random\n"
        "- [x] The metadata object is filled (checked by `medteb export mteb`)\n"
        "- [x] Descriptive statistics are included (`mteb/descriptive_stats/`)\n"
        "- [x] Citations are formatted as mteb's citation test requires\n"
        "- [ ] Results submitted to embeddings-benchmark/results\n"
        "- [ ] `make lint` and `make test` pass\n"
    )

"""Format checks of a submitted result folder: model meta, result files, their scores.

Each check appends one line per problem to ``problems`` (every problem is reported at once) and
returns what it could read; :mod:`medteb.results.submit` decides what a submission may add.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medteb.benchmark.definitions import load_definitions
from medteb.results.layout import SPEED_FILE, read_speed

# Letters, digits, '.', '_', '-': nothing that leaves results/ or means something in markdown.
_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
# A name may also hold '+', as a pair's default name does (asym/<query>+<document>).
_NAME_PART = r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}"
NAME_RE = re.compile(rf"{_NAME_PART}(/{_NAME_PART})?")
REVISION_RE = re.compile(_PART)


def read_meta(folder: Path, where: str, problems: list[str]) -> dict[str, Any]:
    """The folder's ``model_meta.json`` as a dict ({} with a problem noted if unreadable)."""
    path = folder / "model_meta.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{where}: missing model meta: no model_meta.json (mteb's ModelMeta, "
                        "which `medteb run` writes next to the results)")
        return {}
    except (OSError, ValueError) as err:
        problems.append(f"{where}/model_meta.json: not JSON ({err})")
        return {}
    if not isinstance(meta, dict):
        problems.append(f"{where}/model_meta.json: expected a JSON object")
        return {}
    return meta


def check_result_files(folder: Path, where: str, problems: list[str]) -> dict[str, str]:
    """Check every result file; return {task: dataset_revision} of the valid ones."""
    import difflib

    from mteb.results import TaskResult

    definitions = load_definitions()
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        task = path.stem
        if path.name == "model_meta.json":
            continue
        if path.name == SPEED_FILE:
            try:
                read_speed(folder)
            except Exception as err:
                problems.append(str(err))
            continue
        if task not in definitions:
            close = difflib.get_close_matches(task, list(definitions), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"{where}/{path.name}: unknown task {task!r}: not a task of the "
                            f"MedTEB benchmark ({', '.join(definitions)}){hint}")
            continue
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            problems.append(f"{where}/{path.name}: not an mteb result file (not JSON: {err})")
            continue
        if not isinstance(raw, dict) or not check_scores(raw.get("scores"), f"{where}/{path.name}",
                                                          definitions[task].type, problems):
            if not isinstance(raw, dict):
                problems.append(f"{where}/{path.name}: not an mteb result file (not an object)")
            continue
        try:
            result = TaskResult.model_validate(raw)
        except ValidationError as err:
            fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                               for e in err.errors()[:3])
            problems.append(f"{where}/{path.name}: not an mteb result file ({fields})")
            continue
        if result.task_name != task:
            problems.append(f"{where}/{path.name}: the file is named {task} but holds "
                            f"task_name {result.task_name!r}")
            continue
        found[task] = result.dataset_revision
    return found


def check_scores(scores: Any, where: str, task_type: str | None,
                  problems: list[str]) -> bool:
    """Check the raw ``scores`` of a result file: the test split, a finite main score in range."""
    if not isinstance(scores, dict):
        problems.append(f"{where}: not an mteb result file (no 'scores' object)")
        return False
    start = len(problems)
    if sorted(scores) != ["test"]:
        problems.append(f"{where}: wrong split: scores for {sorted(scores)}; MedTEB "
                        "evaluates the 'test' split only")
    entries = scores.get("test")
    if isinstance(entries, list) and not entries:
        problems.append(f"{where}: main score missing (the 'test' split has no entry)")
    low = -1.0 if task_type == "STS" else 0.0  # a Pearson correlation can be negative
    for entry in entries if isinstance(entries, list) else []:
        value = entry.get("main_score") if isinstance(entry, dict) else None
        subset = entry.get("hf_subset", "?") if isinstance(entry, dict) else "?"
        if value is None:
            problems.append(f"{where}: main score missing (subset {subset!r})")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value):
            problems.append(f"{where}: main score {value!r} is not a finite number")
        elif not low <= value <= 1:
            problems.append(f"{where}: main score {value!r} is outside [{low:g}, 1] (mteb "
                            "stores scores on a 0-1 scale, not 0-100)")
    return len(problems) == start


def check_identity(meta: dict[str, Any], where: str,
                    problems: list[str]) -> tuple[str, str]:
    """The model's name and revision, checked safe as folder names and markdown."""
    name, revision = meta.get("name"), meta.get("revision")
    if not isinstance(name, str) or not name:
        problems.append(f"{where}/model_meta.json: missing model name ('name')")
    elif not NAME_RE.fullmatch(name) or ".." in name:
        from medteb.results.parameters import loader_kind

        named = ("; name the run with `medteb run ... --name org/name` (the cached vectors "
                 "make the rerun quick)" if loader_kind(meta) in ("asymmetric", "api") else "")
        problems.append(f"{where}: model name {name!r} is not allowed: use letters, digits, '.', "
                        "'_', '-', '+' and at most one '/' (org/name), so that it can neither "
                        f"leave results/ nor inject markup into leaderboard.md{named}")
    if not isinstance(revision, str) or not revision:
        problems.append(f"{where}/model_meta.json: missing model revision ('revision')")
    elif not REVISION_RE.fullmatch(revision) or ".." in revision:
        problems.append(f"{where}: model revision {revision!r} is not allowed: use letters, "
                        "digits, '.', '_' and '-', so that it can neither leave results/ nor "
                        "inject markup into leaderboard.md")
    elif revision.startswith("reported-"):
        problems.append(f"{where}: model revision {revision!r} is reserved for numbers "
                        "reported in publications")
    return name, revision


def declared_per_query(folder: Path, where: str, model: tuple[str, str], found: dict[str, str],
                       hidden: set[str], problems: list[str]) -> dict[str, Any]:
    """The per-query files of an entry that declares itself verified, checked without the
    predictions (CI's ``medteb submit --check``): one per task not scored on hidden labels,
    none for those (it would publish their labels), each of this model revision and of the
    result's data, and each giving the claimed main score back (a hand-edited score or
    per-query file fails). The maintainer still recomputes from the predictions.

    Returns:
        {task: per-query scores} of the tasks whose file passed.
    """
    from mteb.results import TaskResult

    from medteb.analysis.perquery import SUFFIX, read_per_query
    from medteb.errors import AnalysisError
    from medteb.results.verify import SCORE_TOLERANCE

    kept: dict[str, Any] = {}
    present = {p.name[: -len(SUFFIX)]: p for p in sorted(folder.glob(f"*{SUFFIX}"))}
    for task in sorted(set(present) - set(found)):
        problems.append(f"{where}/{task}{SUFFIX}: per-query scores of a task without a result")
    for task in sorted(found):
        path = present.get(task)
        if task in hidden:
            if path is not None:
                problems.append(f"{where}/{path.name}: per-query scores of a task scored on "
                                "hidden labels would publish its labels (remove the file)")
            continue
        if path is None:
            problems.append(f"{where}/{task}.json: declared verified, but no {task}{SUFFIX} "
                            "holds its per-query scores (submit with --predictions)")
            continue
        try:
            per_query = read_per_query(path)
            score = per_query.score
        except (AnalysisError, ValueError) as err:
            problems.append(f"{where}/{path.name}: {err}")
            continue
        claimed = TaskResult.from_disk(folder / f"{task}.json").get_score(splits=["test"])
        owner = (per_query.model, per_query.model_revision)
        if (per_query.task, per_query.data_revision, owner) != (task, found[task], model):
            problems.append(f"{where}/{path.name}: per-query scores of {per_query.task} on "
                            f"{per_query.data_revision} by {owner[0]} revision {owner[1]}, not "
                            f"of {task} on {found[task]} by {model[0]} revision {model[1]}")
        elif not abs(score - claimed) <= SCORE_TOLERANCE:
            problems.append(f"{where}/{task}.json: claimed main score {claimed:.6f} differs "
                            f"from {score:.6f} given by {path.name}")
        else:
            kept[task] = per_query
    return kept

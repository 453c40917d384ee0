"""Format checks of a submitted result folder: model meta, result files, their scores.

Each check appends one line per problem to ``problems`` (every problem is reported at once) and
returns what it could read; :mod:`medteb.results.submit` decides what a submission may add.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medteb.benchmark.definitions import load_definitions
from medteb.results.layout import SPEED_FILE, read_speed


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

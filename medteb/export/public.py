"""The publishable part of a task (``medteb export hf-dataset --public-only``): no labels.

A hidden-label release publishes queries and corpus (rerank candidates, STS pairs) and keeps
the labels apart (docs/maintaining.md): the qrels table and the STS ``score`` column are left
out of every split. What remains loads as label-free data (docs/data_format.md, "Hidden labels").
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: tables and columns that carry labels
LABEL_TABLES = ("qrels",)
LABEL_COLUMNS = ("score",)

PUBLIC_NOTE = ("\n## Hidden labels\n\nThis is the public part of a hidden-label release: the "
               "relevance judgements and similarity scores are withheld and kept by the "
               "maintainers, who score submitted predictions with `medteb score`.\n")


def without_labels(tables: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]
                   ) -> dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]:
    """``tables`` ({name: (rows, columns)}, one split) without label tables and columns."""
    return {
        name: ([{k: v for k, v in row.items() if k not in LABEL_COLUMNS} for row in rows],
               {k: v for k, v in columns.items() if k not in LABEL_COLUMNS})
        for name, (rows, columns) in tables.items() if name not in LABEL_TABLES
    }


def has_labels(tables: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]) -> bool:
    """Whether one split's tables carry their labels (label-free data has no qrels rows, and
    STS rows without ``score``; docs/data_format.md)."""
    if "qrels" in tables:
        return bool(tables["qrels"][0])
    return all("score" in row for row in tables.get("data", ([], {}))[0])


def public_revision(tables: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]) -> str:
    """``public-<16 hex>``: a hash of one split's label-free tables (rows and column types), so
    that the published card names the public data itself; the labels' hash would name a folder
    no participant holds."""
    text = json.dumps({name: [rows, {k: str(v) for k, v in columns.items()}]
                       for name, (rows, columns) in sorted(tables.items())},
                      sort_keys=True, ensure_ascii=False, default=str)
    return "public-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

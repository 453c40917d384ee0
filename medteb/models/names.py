"""How models are named on disk and in results: slugs, local folders, the built-in baseline.

Light (no mteb, no torch): the CLI and the build pipeline use it without loading a model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: MedTEB's offline lexical baseline (:mod:`medteb.models.bm25`)
BM25_NAME = "bm25-zh"
#: the prefix of a served model's name: ``api/<served model name>`` (:mod:`medteb.models.served`)
API_PREFIX = "api/"
#: what ``medteb train pair`` writes next to OUT/query and OUT/document (name, settings)
PAIR_FILE = "medteb_pair.json"


def slug(name: str, separator: str = "-") -> str:
    """A file-name-safe slug: runs of anything but letters, digits, ``.``, ``_``, ``-`` become
    ``separator``.

    >>> slug("BAAI/bge-m3"), slug("BAAI/bge-m3", "_")
    ('BAAI-bge-m3', 'BAAI_bge-m3')
    """
    return re.sub(r"[^A-Za-z0-9._-]+", separator, name).strip(separator + ".") or "model"


def served_name(name: str) -> str:
    """``api/<served>`` → ``<served>`` (the name sent to the endpoint)."""
    return name[len(API_PREFIX):]


def looks_like_path(name: str) -> bool:
    """Whether a model name is meant as a filesystem path rather than a registry name."""
    return name.startswith((".", "/", "~")) or Path(name).expanduser().exists()


def local_model_name(path: str | Path) -> str:
    """The name results of a local model folder are filed under.

    ``local/<folder name>``; but a side of a pair saved by ``medteb train pair`` (its folder
    ``OUT/query`` or ``OUT/document`` sits next to ``OUT/medteb_pair.json``) is named after the
    pair: ``<pair name>-query`` (the name given with ``--name``, default ``local/<OUT>``), so
    two trained pairs are never both filed as ``local/query``.
    """
    folder = Path(path).expanduser().resolve()
    pair_file = folder.parent / PAIR_FILE
    if pair_file.is_file():
        try:
            name = json.loads(pair_file.read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError, AttributeError):
            name = None
        if not (isinstance(name, str) and "/" in name):
            name = f"local/{slug(folder.parent.name)}"
        return f"{name}-{slug(folder.name)}"
    return f"local/{slug(folder.name)}"

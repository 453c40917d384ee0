"""How models are named on disk and in results: slugs, local folders, the built-in baseline.

Light (no mteb, no torch): the CLI and the build pipeline use it without loading a model.
"""

from __future__ import annotations

import re
from pathlib import Path

#: MedTEB's offline lexical baseline (:mod:`medteb.models.bm25`)
BM25_NAME = "bm25-zh"


def slug(name: str, separator: str = "-") -> str:
    """A file-name-safe slug: runs of anything but letters, digits, ``.``, ``_``, ``-`` become
    ``separator``.

    >>> slug("BAAI/bge-m3"), slug("BAAI/bge-m3", "_")
    ('BAAI-bge-m3', 'BAAI_bge-m3')
    """
    return re.sub(r"[^A-Za-z0-9._-]+", separator, name).strip(separator + ".") or "model"


def looks_like_path(name: str) -> bool:
    """Whether a model name is meant as a filesystem path rather than a registry name."""
    return name.startswith((".", "/", "~")) or Path(name).expanduser().exists()


def local_model_name(path: str | Path) -> str:
    """The name a model in a local folder is recorded under: ``local/<folder name>``."""
    return f"local/{slug(Path(path).expanduser().resolve().name)}"

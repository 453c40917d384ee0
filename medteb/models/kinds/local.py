"""The local-folder kind: a sentence-transformers or plain transformers model on disk.

mteb's own ``get_model`` refuses local paths; MedTEB loads the folder with sentence-transformers
(which mean-pools a plain model) and records it as ``local/<folder name>``
(:func:`~medteb.models.names.local_model_name`) with a revision hashed from every byte of its
weights and configuration (:mod:`medteb.models.fingerprint`), so two different checkpoints never
share a results folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from medteb._vectors import finite_encode
from medteb.errors import UnknownModelError
from medteb.models.fingerprint import weights_fingerprint
from medteb.models.kinds.weights import WeightsKind
from medteb.models.names import local_model_name, looks_like_path

if TYPE_CHECKING:
    from mteb.models import MTEBModels


def _model_folder(path: str) -> Path:
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise UnknownModelError(f"model path {path!r} does not exist or is not a directory")
    if not ((folder / "config.json").is_file() or (folder / "modules.json").is_file()):
        raise UnknownModelError(
            f"model path {path!r} holds no model: expected a sentence-transformers folder "
            "(modules.json) or a transformers folder (config.json)"
        )
    return folder


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
    folder = _model_folder(path)
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


class LocalKind(WeightsKind):
    label = "local"

    def recognises(self, name: str) -> bool:
        return looks_like_path(name)

    def check(self, name: str) -> None:
        _model_folder(name)

    def filed_name(self, name: str) -> str:
        return local_model_name(name)

    def load(self, name: str, revision: str | None = None, device: str | None = None,
             **kwargs: Any) -> MTEBModels:
        return load_local_model(name, revision, device, **kwargs)


LOCAL = LocalKind()

"""The last kind: any name ``mteb.get_model`` loads (its registry, or a model on the Hub)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medteb.errors import UnknownModelError
from medteb.models.kinds.weights import WeightsKind
from medteb.models.names import BM25_NAME

if TYPE_CHECKING:
    from mteb.models import MTEBModels


class MtebRegistryKind(WeightsKind):
    label = "mteb"

    def recognises(self, name: str) -> bool:
        return True  # the last resort: mteb says whether it knows the name

    def load(self, name: str, revision: str | None = None, device: str | None = None,
             **kwargs: Any) -> MTEBModels:
        import mteb

        try:
            return mteb.get_model(name, revision, device=device, **kwargs)
        except Exception as err:  # mteb raises ValueError/OSError/HTTP errors; all "cannot load"
            raise UnknownModelError(
                f"cannot load model {name!r}: {err}. Use a local model directory, the offline "
                f"baseline {BM25_NAME!r}, or a model in mteb's registry or on the Hugging Face "
                "Hub (which needs network access)."
            ) from err


MTEB_REGISTRY = MtebRegistryKind()

"""The last kind: any name ``mteb.get_model`` loads (its registry, or a model on the Hub)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medteb._vectors import finite_encode
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
            model = mteb.get_model(name, revision, device=device, **kwargs)
        except Exception as err:  # mteb raises ValueError/OSError/HTTP errors; all "cannot load"
            _raise_if_unreachable(name, err)
            raise UnknownModelError(
                f"cannot load model {name!r}: {err}. Use a local model directory, the offline "
                f"baseline {BM25_NAME!r}, or a model in mteb's registry or on the Hugging Face "
                "Hub (which needs network access)."
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


MTEB_REGISTRY = MtebRegistryKind()

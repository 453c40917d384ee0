"""The ``bm25-zh`` kind: MedTEB's offline lexical baseline (:mod:`medteb.models.bm25`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medteb.models.kinds.weights import WeightsKind
from medteb.models.names import BM25_NAME

if TYPE_CHECKING:
    from mteb.models import MTEBModels


class BM25Kind(WeightsKind):
    label = "bm25"

    def recognises(self, name: str) -> bool:
        return name == BM25_NAME

    def load(self, name: str, revision: str | None = None, device: str | None = None,
             **kwargs: Any) -> MTEBModels:
        from medteb.models.bm25 import BM25Zh

        return BM25Zh()


BM25 = BM25Kind()

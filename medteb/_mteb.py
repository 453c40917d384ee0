"""The one door to mteb's private names: everything MedTEB uses that mteb does not export.

mteb 2.26 has no public API to register third-party tasks or benchmarks, and builds its
dataloaders and retrieval metrics in private modules. Every such use lives here, behind one
version check, so that an mteb release that moves them fails here, with one clear message,
instead of deep inside a run. Everything else in MedTEB uses mteb's public API
(``mteb.evaluate``, ``mteb.get_task``, ``TaskMetadata``, ``ResultCache``, ...).

Importing this module checks mteb's installed version without importing mteb; each function
imports what it needs when called.
``tests/test_architecture.py`` checks that no other module names a private part of mteb.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import version as installed_version
from typing import TYPE_CHECKING, Any

from medteb.errors import MedtebError, TaskDefinitionError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mteb.abstasks import AbsTask
    from torch.utils.data import DataLoader

#: the mteb minor versions whose private names are known to be as used here
TESTED_MTEB = ("2.26",)


class UnsupportedMtebError(MedtebError, ImportError):
    """The installed mteb is a release whose internals MedTEB has not been tested with."""


def check_version(version: str | None = None) -> None:
    """Refuse an mteb whose minor version is not in :data:`TESTED_MTEB`.

    Raises:
        UnsupportedMtebError: with the installed and the supported versions.
    """
    version = version or installed_version("mteb")
    if ".".join(version.split(".")[:2]) not in TESTED_MTEB:
        raise UnsupportedMtebError(
            f"mteb {version} is installed, but MedTEB relies on internals of mteb "
            f"{', '.join(v + '.x' for v in TESTED_MTEB)}; install a supported release "
            f"(pip install 'mteb>={TESTED_MTEB[0]},<{_next_minor(TESTED_MTEB[-1])}')")


def _next_minor(version: str) -> str:
    major, minor = version.split(".")
    return f"{major}.{int(minor) + 1}"


check_version()

# --- task and benchmark registries (mteb builds them at import; no registration API) --------

# Looked up when called, not at import: the registration hook runs while mteb itself is being
# imported, and may import this module then. import_module, not `import mteb.get_tasks as ...`:
# mteb's package namespace shadows the submodules get_tasks / get_benchmark with functions.
def _get_tasks_module() -> Any:
    return importlib.import_module("mteb.get_tasks")


def task_registry() -> Mapping[str, type[AbsTask]]:
    """mteb's task registry (name -> class), MedTEB's tasks included once registered."""
    return _get_tasks_module()._TASKS_REGISTRY


def register_tasks(classes: Mapping[str, type[AbsTask]]) -> None:
    """Add task classes to mteb's registry and task list, as if mteb had defined them.

    Raises:
        TaskDefinitionError: mteb already has a different task of one of these names.
    """
    module = _get_tasks_module()
    registry = module._TASKS_REGISTRY
    for name, cls in classes.items():
        if name in registry and registry[name] is not cls:
            raise TaskDefinitionError(f"mteb already has a task named {name!r}")
    registry.update(classes)
    new = tuple(c for c in classes.values() if c not in module.TASK_LIST)
    module.TASK_LIST = (*module.TASK_LIST, *new)


def register_benchmark(attribute: str, benchmark: Any) -> None:
    """Make ``mteb.get_benchmark`` find a benchmark (and its aliases), as if mteb defined it."""
    setattr(importlib.import_module("mteb.benchmarks.benchmarks"), attribute, benchmark)
    lookup = importlib.import_module("mteb.benchmarks.get_benchmark")
    lookup._build_registry.cache_clear()
    lookup._build_aliases_registry.cache_clear()


# --- dataloaders ----------------------------------------------------------------------------

def create_dataloader(dataset: Any, **kwargs: Any) -> DataLoader:
    """mteb's own dataloader for a task's queries or corpus (``mteb._create_dataloaders``)."""
    from mteb._create_dataloaders import create_dataloader as create

    return create(dataset, **kwargs)


def text_collate_fn() -> Any:
    """The collate function mteb's text dataloaders use."""
    from mteb._create_dataloaders import _custom_collate_fn

    return _custom_collate_fn


def dataloader_from_texts(texts: Sequence[str], batch_size: int) -> DataLoader:
    """mteb's dataloader over plain texts (what ``encode`` receives for STS sentences)."""
    from mteb._create_dataloaders import _create_dataloader_from_texts

    return _create_dataloader_from_texts(list(texts), batch_size=batch_size)


# --- descriptive statistics -----------------------------------------------------------------

def split_statistics(task: AbsTask, split: str, subset: str | None) -> dict[str, Any]:
    """mteb's descriptive statistics of one split of a loaded task (its per-split method; the
    public one writes into the installed mteb package)."""
    return task._calculate_descriptive_statistics_from_split(split, hf_subset=subset)

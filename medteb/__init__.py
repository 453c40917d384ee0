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

import sys

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


if "mteb" in sys.modules:
    register()
else:  # the hook the .pth installs at start-up, if this interpreter did not run it
    from medteb._import_hook import install as _install_import_hook

    _install_import_hook()

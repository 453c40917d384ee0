"""The one import hook that registers MedTEB in mteb when (and only when) mteb is imported.

This file is used under two names. An install (wheel or editable) also puts a copy of it at the
top of site-packages as ``_medteb_mteb_hook`` (``pth/_medteb_mteb_hook.py`` is a link to this
file, force-included by pyproject), which the one-line
``medteb-mteb.pth`` calls at every interpreter start, so that ``mteb run -t MedTEB-Retrieval``,
``mteb.get_task`` and ``mteb.get_benchmark("MedTEB")`` work without importing medteb; and
``medteb/__init__`` installs it as ``medteb._import_hook`` for interpreters started without the
``.pth`` (a source checkout on ``PYTHONPATH``). So it imports nothing (``sys`` is always
loaded) and only adds a finder to ``sys.meta_path``. When ``mteb`` is imported, the finder wraps
mteb's loader; right after ``mteb/__init__`` has run, it imports ``medteb`` and calls
``medteb.register()``.

The two copies are two module objects with two sets of classes, so they recognise each other by
a marker attribute, not by class: however often :func:`install` runs, under either name, at most
one finder is on ``sys.meta_path`` and mteb's loader is wrapped once.

A failure inside medteb never breaks ``import mteb``: it is reported once as a warning. Set
``MEDTEB_MTEB_AUTOLOAD=0`` to switch the ``.pth`` hook off (the line then imports nothing).
"""

import sys

ENV_VAR = "MEDTEB_MTEB_AUTOLOAD"
#: the attribute both copies' finder and loader carry
MARKER = "_medteb_registers_in_mteb"


def _ours(obj):
    return getattr(type(obj), MARKER, False) is True


def _register_medteb():
    try:
        import medteb

        medteb.register()
    except Exception as err:  # never let a broken medteb break `import mteb`
        import warnings

        warnings.warn(
            f"medteb could not register its tasks in mteb ({type(err).__name__}: {err}); mteb "
            f"works without them. Set {ENV_VAR}=0 to skip this step.",
            RuntimeWarning,
            stacklevel=2,
        )


class _Loader:
    """mteb's own loader, followed by MedTEB's registration."""

    _medteb_registers_in_mteb = True

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _register_medteb()

    def __getattr__(self, name):  # is_package, get_resource_reader, ...
        return getattr(self._loader, name)


class MtebFinder:
    """A one-shot ``sys.meta_path`` finder that only answers for ``mteb``."""

    _medteb_registers_in_mteb = True

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "mteb":
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if not _ours(f)]  # either copy's, once
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                loader = spec.loader
                if (loader is not None and hasattr(loader, "exec_module")
                        and not _ours(loader)):
                    spec.loader = _Loader(loader)
                return spec
        return None


def install():
    """Add the finder, unless mteb is already imported or a finder (of either copy) is there."""
    if "mteb" in sys.modules or any(_ours(f) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, MtebFinder())

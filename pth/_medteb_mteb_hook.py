"""Registers MedTEB in mteb when (and only when) mteb is imported; loaded by ``medteb-mteb.pth``.

Installing medteb (from a wheel or editable) puts this module and ``medteb-mteb.pth`` at the top
of site-packages. The ``.pth`` line runs at every interpreter start, so this module imports
nothing (``sys`` is always loaded) and only adds a finder to ``sys.meta_path``. When ``mteb`` is
imported, the finder wraps mteb's loader; right after ``mteb/__init__`` has run, it imports
``medteb`` and calls ``medteb.register()``, so ``mteb run -t MedTEB-Retrieval``,
``mteb.get_task`` and ``mteb.get_benchmark("MedTEB")`` work without importing medteb.

A failure inside medteb never breaks ``import mteb``: it is reported once as a warning. Set
``MEDTEB_MTEB_AUTOLOAD=0`` to switch the hook off (the ``.pth`` line then imports nothing).
"""

import sys

ENV_VAR = "MEDTEB_MTEB_AUTOLOAD"


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

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "mteb":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


def install():
    """Add the finder (once); if mteb is already imported, nothing is needed until medteb is."""
    if "mteb" in sys.modules or any(isinstance(f, MtebFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, MtebFinder())

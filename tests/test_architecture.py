"""The layout stays as docs/architecture.md draws it: no import cycles, mteb's private names in
one module, a light ``import medteb``, modules a reader can take in (static checks, no mteb)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "medteb"
MAX_LINES = 400
#: mteb names that are private although spelled without a leading underscore
PRIVATE_ATTRIBUTES = re.compile(r"\b(_TASKS_REGISTRY|TASK_LIST|_build_registry|"
                                r"_build_aliases_registry|_calculate_scores|_normalize|"
                                r"_calculate_descriptive_statistics_from_split)\b")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every absolute import, function-level ones included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def resolve(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for module, names in _imports(path):
            if not module.startswith("medteb"):
                continue
            targets = [resolve(f"{module}.{n}") if f"{module}.{n}" in modules else resolve(module)
                       for n in names] or [resolve(module)]
            graph[name].update(t for t in targets if t and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = _graph()
    assert "medteb.models.names" in graph["medteb.models.bm25"]  # the graph sees real edges
    assert _cycles(graph) == []


def test_mteb_private_names_only_in_the_one_module() -> None:
    offenders = []
    for name, path in _modules().items():
        if name == "medteb._mteb":
            continue
        for module, names in _imports(path):
            if module.split(".")[0] != "mteb":
                continue
            private = [p for p in module.split(".")[1:] if p.startswith("_")]
            private += [n for n in names if n.startswith("_") and n != "__version__"]
            if private:
                offenders.append(f"{name}: {module} {private}")
        source = path.read_text(encoding="utf-8")
        offenders += [f"{name}: {m}" for m in PRIVATE_ATTRIBUTES.findall(source)]
    assert offenders == []


def test_the_private_name_check_would_catch_a_use(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from mteb._create_dataloaders import create_dataloader\n"
                      "from mteb.abstasks.retrieval import _filter_queries_without_positives\n")
    assert _imports(sample) == [("mteb._create_dataloaders", ["create_dataloader"]),
                                ("mteb.abstasks.retrieval", ["_filter_queries_without_positives"])]
    assert PRIVATE_ATTRIBUTES.search("registry = mod._TASKS_REGISTRY")


def test_mteb_version_check_names_the_supported_release() -> None:
    from medteb._mteb import UnsupportedMtebError, check_version

    check_version("2.26.24")
    with pytest.raises(UnsupportedMtebError,
                       match=r"mteb 2\.27\.0 is installed, but MedTEB relies on internals of "
                             r"mteb 2\.26\.x; install a supported release "
                             r"\(pip install 'mteb>=2\.26,<2\.27'\)"):
        check_version("2.27.0")


def test_import_medteb_is_light() -> None:
    code = ("import sys, medteb, medteb.cli, medteb.models.names, medteb.benchmark.definitions; "
            "print(sorted(m for m in ('mteb', 'torch', 'transformers', 'datasets') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_modules_stay_readable() -> None:
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"split these modules (over {MAX_LINES} lines): {long}"

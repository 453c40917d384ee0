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
    # The import hook runs mainly as the top-level module _medteb_mteb_hook (the .pth copy),
    # outside the package; importing medteb there is the package's entry, not an inner edge.
    graph["medteb._import_hook"].discard("medteb")
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


def _mteb_bound_names(tree: ast.AST) -> set[str]:
    """Names bound to mteb: its modules and what is imported from them, and (flow-insensitive,
    one step) variables assigned from an expression rooted at one of those."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update((a.asname or a.name.split(".")[0]) for a in node.names
                         if a.name.split(".")[0] == "mteb")
        elif (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
              and node.module.split(".")[0] == "mteb"):
            names.update(a.asname or a.name for a in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _root(node.value) in names:
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _root(node: ast.AST) -> str | None:
    """The name an attribute chain or call starts at: ``a`` of ``a.b(c).d``."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _private_mteb_attributes(source: str) -> list[str]:
    """``name.attr`` of each attribute access to a private name on something from mteb."""
    tree = ast.parse(source)
    bound = _mteb_bound_names(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not (node.attr.startswith("__") and node.attr.endswith("__"))
                and _root(node.value) in bound):
            found.append(f"{_root(node.value)}.{node.attr} (line {node.lineno})")
    return found


def test_no_private_mteb_attributes_outside_the_one_module() -> None:
    offenders = {name: found for name, path in _modules().items() if name != "medteb._mteb"
                 if (found := _private_mteb_attributes(path.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_the_attribute_check_would_catch_a_use() -> None:
    source = ("import mteb\nimport mteb.abstasks as at\nfrom mteb.cache import ResultCache\n"
              "from medteb.x import y\n"
              "a = mteb.abstasks._helper\nb = at._x\nc = ResultCache._z\n"
              "task = mteb.get_task('T')\nd = task._private\n"
              "ok = mteb.__version__, y._own, task.metadata, mteb.get_task('T').name\n")
    assert _private_mteb_attributes(source) == [
        "mteb._helper (line 5)", "at._x (line 6)", "ResultCache._z (line 7)",
        "task._private (line 9)"]
    assert _private_mteb_attributes("import mteb\nx = mteb.get_task('T')\nx.name\n") == []


def _documented_tree() -> set[str]:
    """Paths (relative to ``medteb/``) the tree of docs/architecture.md names: ``a/b.py``
    for a module, ``a/`` for a folder."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("## The tree", 1)[1].split("```", 2)[1]
    lines = block.splitlines()
    start = lines.index("medteb/")
    found: set[str] = set()
    folders: list[str] = []
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        entry = re.split(r" {2,}", line.strip(), maxsplit=1)[0]
        if indent == 0:
            break
        if indent > 2 * (len(folders) + 1):
            continue  # a description's second line
        if indent % 2 or not re.fullmatch(r"[\w.]+/?(, [\w.]+/?)*", entry):
            raise AssertionError(f"docs/architecture.md tree: cannot read {line!r}")
        del folders[indent // 2 - 1:]
        for name in entry.split(", "):
            found.add("".join(folders) + name)
        if entry.endswith("/") and ", " not in entry:
            folders.append(entry)
    return found


def test_the_documented_tree_is_the_package() -> None:
    documented = _documented_tree()
    assert "results/board.py" in documented and "cli/build/pipeline.py" in documented
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    folders = {f"{p.relative_to(PACKAGE).as_posix()}/" for p in PACKAGE.rglob("*")
               if p.is_dir() and (p / "__init__.py").is_file()}
    assert sorted(modules - documented) == [], "add these modules to docs/architecture.md"
    assert sorted(documented - modules - folders) == [], (
        "docs/architecture.md names modules that do not exist")

"""After installing medteb (editable or from the wheel), mteb's own API and CLI find MedTEB in an
interpreter that never imports medteb; a broken medteb costs one warning; an env var turns it off.

Every check runs in a fresh subprocess: the hook acts at interpreter start-up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_TASKS

PURELIB = Path(sysconfig.get_paths()["purelib"])
CHECK_API = """
import sys
import mteb
assert "medteb" in sys.modules, "the hook did not register medteb"
import medteb
print(medteb.__file__)
print(mteb.get_task("MedTEB-Retrieval").metadata.main_score)
print(mteb.get_benchmark("CMedTEB").name, len(mteb.get_benchmark("MedTEB").tasks))
"""


def _run(argv: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "MEDTEB_MTEB_AUTOLOAD", "MEDTEB_DATA_DIR")}
    return subprocess.run(argv, cwd=tmp_path, env={**environ, **env}, capture_output=True,
                          text=True, timeout=600)


def _rerank_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_TASKS / "MedTEB-Rerank" / "sample", data / "MedTEB-Rerank")
    return data


def _main_score(output: Path) -> float:
    (path,) = output.rglob("MedTEB-Rerank.json")
    result = json.loads(path.read_text("utf-8"))
    assert result["dataset_revision"].startswith("local-")
    return result["scores"]["test"][0]["main_score"]


@pytest.fixture(scope="module")
def wheel_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with only medteb's wheel installed in it; its dependencies come from this one."""
    venv = tmp_path_factory.mktemp("wheel-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                    "--no-index", "-q", str(wheel)], check=True, capture_output=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    assert (site / "medteb-mteb.pth").is_file() and (site / "_medteb_mteb_hook.py").is_file()
    # a path line, not a site dir: this venv's own .pth files (the editable medteb) stay unread
    (site / "zz-test-dependencies.pth").write_text(f"{PURELIB}\n", encoding="utf-8")
    return python


def test_start_up_imports_only_the_hook(tmp_path: Path) -> None:
    code = "import sys; print(sorted(m for m in sys.modules if 'medteb' in m or m == 'mteb'))"
    assert _run([sys.executable, "-c", code], tmp_path).stdout.strip() == "['_medteb_mteb_hook']"
    off = _run([sys.executable, "-c", code], tmp_path, MEDTEB_MTEB_AUTOLOAD="0")
    assert off.stdout.strip() == "[]"


def test_editable_install_mteb_cli_runs_medteb_task(tmp_path: Path) -> None:
    assert (PURELIB / "medteb-mteb.pth").is_file(), (
        "medteb-mteb.pth is missing from site-packages: reinstall with pip install -e '.[test]'")
    mteb_cli = Path(sys.executable).with_name("mteb")
    done = _run([str(mteb_cli), "run", "-m", "mteb/baseline-bm25s", "-t", "MedTEB-Rerank",
                 "--output-folder", str(tmp_path / "out")], tmp_path,
                MEDTEB_DATA_DIR=str(_rerank_data(tmp_path)))
    assert done.returncode == 0, done.stderr[-3000:]
    assert 0 < _main_score(tmp_path / "out") <= 1


def test_wheel_install_mteb_api_and_cli(wheel_python: Path, tmp_path: Path) -> None:
    cli = ("import sys; from mteb.cli.build_cli import main; sys.argv = ['mteb', 'run', '-m', "
           f"'mteb/baseline-bm25s', '-t', 'MedTEB-Rerank', '--output-folder', "
           f"{str(tmp_path / 'out')!r}]; main()")
    done = _run([str(wheel_python), "-c", CHECK_API + cli], tmp_path,
                MEDTEB_DATA_DIR=str(_rerank_data(tmp_path)))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith(str(wheel_python.parent.parent))  # the wheel's medteb, not ours
    assert lines[1:3] == ["ndcg_at_10", "MedTEB 5"]
    assert 0 < _main_score(tmp_path / "out") <= 1


def test_broken_medteb_is_one_warning_and_mteb_works(tmp_path: Path) -> None:
    # A stand-in mteb keeps this fast: the hook only keys on the name "mteb" being imported.
    for package, init in (("medteb", "raise ImportError('broken on purpose')\n"),
                          ("mteb", "WORKS = True\n")):
        (tmp_path / "path" / package).mkdir(parents=True)
        (tmp_path / "path" / package / "__init__.py").write_text(init, "utf-8")
    code = "import mteb; import mteb; print(mteb.WORKS)"
    done = _run([sys.executable, "-c", code], tmp_path, PYTHONPATH=str(tmp_path / "path"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "True"
    warnings = [line for line in done.stderr.splitlines() if "medteb could not register" in line]
    assert len(warnings) == 1 and "broken on purpose" in warnings[0]
    assert "MEDTEB_MTEB_AUTOLOAD=0" in warnings[0]


HOOK_TWICE = """
import importlib.util, sys
hook = sys.argv[1]
copies = []
for name in ("_medteb_mteb_hook", "medteb._import_hook"):  # the .pth's copy and medteb's
    spec = importlib.util.spec_from_file_location(name, hook)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    copies.append(module)
assert copies[0].MtebFinder is not copies[1].MtebFinder
for module in copies * 2:
    module.install()
ours = [f for f in sys.meta_path if type(f).__name__ == "MtebFinder"]
import mteb, medteb
loader = mteb.__spec__.loader
print(len(ours), medteb.CALLS, type(loader).__name__, type(loader._loader).__name__,
      [type(f).__name__ for f in sys.meta_path].count("MtebFinder"))
"""


def test_the_hook_installed_under_both_names_registers_once(tmp_path: Path) -> None:
    """medteb/__init__ and the .pth install the same module under two names: one finder, one
    wrapped loader, one registration, however often either installs it."""
    hook = Path(__file__).resolve().parents[1] / "medteb" / "_import_hook.py"
    for package, init in (("medteb", "CALLS = []\ndef register():\n    CALLS.append(1)\n"),
                          ("mteb", "WORKS = True\n")):
        (tmp_path / "path" / package).mkdir(parents=True)
        (tmp_path / "path" / package / "__init__.py").write_text(init, "utf-8")
    done = _run([sys.executable, "-c", HOOK_TWICE, str(hook)], tmp_path,
                PYTHONPATH=str(tmp_path / "path"), MEDTEB_MTEB_AUTOLOAD="0")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["1", "[1]", "_Loader", "SourceFileLoader", "0"]


def test_import_medteb_installs_the_one_hook(tmp_path: Path) -> None:
    code = ("import sys, medteb, medteb._import_hook as h; "
            "print(sum(h._ours(f) for f in sys.meta_path), 'mteb' in sys.modules)")
    done = _run([sys.executable, "-c", code], tmp_path, MEDTEB_MTEB_AUTOLOAD="0",
                PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["1", "False"]

"""The top-level tasks/ folder reaches a non-editable install (as medteb/_tasks in the wheel)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_carries_task_folders_and_sample(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for task in ("MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS", "CMedQAv1-reranking"):
        assert f"medteb/_tasks/{task}/task.yaml" in names
        assert f"medteb/_tasks/{task}/README.md" in names
    assert "medteb/_tasks/MedTEB-Rerank/sample/top_ranked/test.jsonl" in names
    assert "medteb/_tasks/MedTEB-STS/sample/sts/test.jsonl" in names


def test_wheel_carries_every_module(wheel: Path) -> None:
    # a .gitignore pattern like "build/" once hid the medteb/build package from git and hatchling
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "medteb").rglob("*.py")}
    assert modules - names == set()
    assert "medteb/build/llm.py" in modules and "medteb/cli/build/pipeline.py" in modules
    # the web page's template, styles and script (medteb leaderboard --html)
    for asset in ("page.html", "site.css", "site.js"):
        assert f"medteb/results/site_assets/{asset}" in names


def test_installed_wheel_finds_its_tasks(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    code = ("import medteb.benchmark.definitions as t; print(t.tasks_root()); "
            "print(','.join(t.load_definitions()))")
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert out[0] == str(target / "medteb" / "_tasks")
    assert out[1] == "CMedQAv1-reranking,CMedQAv2-reranking,MedTEB-Retrieval,MedTEB-Rerank,MedTEB-STS"

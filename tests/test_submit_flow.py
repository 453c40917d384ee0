"""docs/submitting_results.md's flow, as written, end to end in a git clone of this repository.

The documented commands are read from the doc and run in order (only the placeholders are filled
in: the offline baseline on the bundled sample, whose results go to the sample board, so no
``--setting``); after the documented ``git add`` and ``git commit`` nothing is left uncommitted,
and regenerating the leaderboard and the web page from the committed results changes nothing:
the pull request holds exactly what the repository's tests check.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from medteb.cli import main
from tests.conftest import ROOT

DOC = ROOT / "docs" / "submitting_results.md"


def documented_flow() -> list[str]:
    """The command lines of the doc's "The flow" block, in order (comments dropped)."""
    section = DOC.read_text("utf-8").split("## The flow", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _git(clone: Path, *argv: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", *argv], cwd=clone, env=env, check=True, capture_output=True,
                          text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs git and a git checkout of the repository")
def test_the_documented_pull_request_flow_leaves_nothing_uncommitted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = documented_flow()
    assert [line.split()[:2] for line in lines] == [
        ["medteb", "run"], ["medteb", "submit"], ["git", "checkout"], ["git", "add"],
        ["git", "commit"]]
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    for path in ("results", "leaderboard.md", "site"):  # the working tree's, committed or not
        target = clone / path
        if target.is_dir():
            shutil.rmtree(target)
        source = ROOT / path
        shutil.copytree(source, target) if source.is_dir() else shutil.copy2(source, target)
    _git(clone, "add", "-A")
    _git(clone, "commit", "--quiet", "--allow-empty", "-m", "the working tree")
    work = tmp_path / "work"  # the run's folders live outside the repository, as the doc says
    work.mkdir()
    fill = {"YOUR/MODEL": "bm25-zh", "DIR": "sample", "my-run": str(work / "my-run"),
            "my-preds": str(work / "my-preds")}
    for line in lines:
        argv = [fill.get(word, word) for word in shlex.split(line)]
        if argv[0] == "medteb":
            if argv[1] == "submit":  # sample results go to the sample board
                i = argv.index("--setting")
                del argv[i: i + 2]
            monkeypatch.chdir(work if argv[1] == "run" else clone)
            assert main([*argv[1:], *(["-v", "0"] if argv[1] == "run" else [])]) == 0, line
        else:
            _git(clone, *argv[1:])
    assert _git(clone, "status", "--porcelain") == ""  # every file submit wrote was added
    committed = _git(clone, "show", "--name-only", "--format=", "HEAD").split()
    assert "site/index.html" in committed and "leaderboard.md" in committed
    assert any(p.startswith("results/medteb__bm25-zh/") for p in committed)
    monkeypatch.chdir(clone)  # what the tests check: both regenerate to the committed bytes
    assert main(["leaderboard"]) == 0
    assert main(["leaderboard", "--html", "--results-url", "../results"]) == 0
    assert _git(clone, "status", "--porcelain") == ""

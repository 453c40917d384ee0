"""The files derived from ``results/``: ``leaderboard.md`` with its figure, and the web site.

``medteb leaderboard`` writes them, and ``medteb submit`` replaces them in the same transaction
as the results they come from (:mod:`medteb.results.commit`). The ``*_files`` functions return
the bytes by path and write nothing; :func:`regenerate_leaderboard` and :func:`write_site`
write each file atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from medteb._fileio import write_atomic

#: the site folder ``medteb leaderboard --html`` writes by default; ``medteb submit`` rebuilds
#: it after a successful submission whenever it exists
DEFAULT_SITE = "site"


def board_entries(results: str | os.PathLike,
                  releases: str | os.PathLike | None = None) -> tuple[list, list[str]]:
    """:func:`~medteb.results.layout.load_entries` with each entry's post-cutoff scores on its
    release (:func:`medteb.release.postcutoff.entry_cutoffs`; the release folder is looked up
    in ``releases``, else ``MEDTEB_RELEASES_DIR``, else ``./releases``)."""
    from dataclasses import replace

    from medteb.release.postcutoff import entry_cutoffs
    from medteb.results.layout import load_entries

    entries, skipped = load_entries(results)
    return [replace(e, post_cutoff=entry_cutoffs(Path(results) / e.folder, e.release, releases))
            for e in entries], skipped


def _title(loaded: tuple[list, list[str]] | None) -> str:
    """The board's heading: a run folder's board (``loaded``) says *not submitted*."""
    from medteb.results.leaderboard import TITLE

    if loaded is None:
        return TITLE
    from medteb.results.runboard import TITLE as RUNS_TITLE

    return RUNS_TITLE


def leaderboard_files(results: str | os.PathLike, output: str | os.PathLike,
                      figure: bool = True, release: str | None = None,
                      loaded: tuple[list, list[str]] | None = None,
                      releases: str | os.PathLike | None = None
                      ) -> tuple[dict[Path, bytes], list[str]]:
    """The bytes of ``leaderboard.md`` (and its figure) for a results folder, by path, and the
    notes on folders passed over; writes nothing. ``release``: the release shown (default: the
    latest with results); ``loaded``: entries and notes already read (a run folder's,
    :func:`medteb.results.runboard.run_entries`) instead of ``results``'s; ``releases``: the
    releases folder, for the Post-cutoff column (:func:`board_entries`)."""
    from medteb.results.leaderboard import FIGURE_NAME, Leaderboard

    entries, skipped = board_entries(results, releases) if loaded is None else loaded
    board = Leaderboard.from_entries(entries, figure=FIGURE_NAME if figure else None,
                                     release=release, title=_title(loaded))
    target = Path(output)
    files: dict[Path, bytes] = {}
    if figure:
        from medteb.results.figure import render_figure

        for fmt, data in render_figure(board).items():
            files[target.parent / f"{FIGURE_NAME}.{fmt}"] = data
    files[target] = board.to_markdown().encode("utf-8")
    return files, skipped


def regenerate_leaderboard(results: str | os.PathLike, output: str | os.PathLike,
                           figure: bool = True, release: str | None = None,
                           loaded: tuple[list, list[str]] | None = None,
                           releases: str | os.PathLike | None = None) -> list[str]:
    """Rewrite ``leaderboard.md`` (and its figure) from a results folder; return skip notes."""
    files, skipped = leaderboard_files(results, output, figure, release, loaded, releases)
    for path, data in files.items():
        write_atomic(path, data)
    return skipped


def site_files(results: str | os.PathLike, folder: str | os.PathLike,
               results_url: str | None = None, release: str | None = None,
               loaded: tuple[list, list[str]] | None = None,
               releases: str | os.PathLike | None = None
               ) -> tuple[dict[Path, bytes], list[str]]:
    """The bytes of the static site's files for a results folder, by path (the data files
    first, ``index.html`` last), and the notes on folders passed over; writes nothing.

    Args:
        results_url: the base of the provenance links; default: the one the site already in
            ``folder`` was built with, else ``results`` relative to ``folder`` (works from
            ``file://`` in a clone and on a host serving the repository).
        release: the release shown (default: the latest with results).
        loaded: entries and notes already read (a run folder's) instead of ``results``'s.
        releases: the releases folder, for the Post-cutoff column (:func:`board_entries`).
    """
    from medteb.results.site import SITE_FILES, build_site

    entries, skipped = board_entries(results, releases) if loaded is None else loaded
    target = Path(folder)
    if results_url is None:
        results_url = recorded_results_url(target) or Path(
            os.path.relpath(Path(results).resolve(), target.resolve())).as_posix()
    files = build_site(entries, results_url, release, _title(loaded)).files()
    return ({target / name: files[name]
             for name in sorted(SITE_FILES, key=lambda n: n == "index.html")}, skipped)


def write_site(results: str | os.PathLike, folder: str | os.PathLike,
               results_url: str | None = None, release: str | None = None,
               loaded: tuple[list, list[str]] | None = None,
               releases: str | os.PathLike | None = None) -> list[str]:
    """Write the static site of a results folder into ``folder``; return the skip notes.

    Every file is written atomically; the data files first, ``index.html`` last. ``loaded``:
    a run folder's entries and notes, shown as *not submitted*; ``releases``: the releases
    folder, for the Post-cutoff column.
    """
    files, skipped = site_files(results, folder, results_url, release, loaded, releases)
    Path(folder).mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        write_atomic(path, data)
    return skipped


def recorded_results_url(folder: Path) -> str | None:
    """The provenance links' base recorded by the site in ``folder``, if one is there."""
    try:
        url = json.loads((folder / "leaderboard.json").read_text("utf-8")).get("results_url")
    except (OSError, ValueError, AttributeError):  # no site yet, or not one of ours
        return None
    return url if isinstance(url, str) and url else None


def derived_files(results: Path, leaderboard: str | Path, site: Path | None,
                  figure: bool = True,
                  releases: str | os.PathLike | None = None) -> dict[Path, bytes]:
    """Every file ``medteb submit`` regenerates from ``results``, by path: ``leaderboard.md``
    and its figure, and the web site's files when ``site`` is a site folder to rebuild. They
    are replaced in the same transaction as the results (:mod:`medteb.results.commit`).
    ``releases``: the releases folder, for the Post-cutoff column (:func:`board_entries`)."""
    files = leaderboard_files(results, leaderboard, figure, releases=releases)[0]
    if site is not None:
        files.update(site_files(results, site, releases=releases)[0])
    return files

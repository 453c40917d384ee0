"""``medteb release``: cut, verify and list versioned releases of the task data
(docs/releases.md)."""

from __future__ import annotations

import argparse

_DIR_HELP = "the releases folder (default: MEDTEB_RELEASES_DIR, else ./releases)"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "release", help="cut, verify and list versioned releases of the task data",
        description="A release is an immutable snapshot of the MedTEB tasks: the files, a "
                    "manifest.json with each file's SHA-256 and row count, the queries' date "
                    "window, the build's datasheet and the parent release (docs/releases.md). "
                    "Run a release with `medteb run --release V`; the leaderboard shows one "
                    "release at a time (`medteb leaderboard --release V`).")
    commands = parser.add_subparsers(title="actions", metavar="ACTION", required=True)

    create = commands.add_parser(
        "create", help="cut a release from a `medteb build export` folder",
        description="Copy the task folders of a `medteb build export` into RELEASES/VERSION "
                    "with a manifest; with --queries-after, keep only the queries dated after "
                    "that day (and the documents they use). Refuses queries already in an "
                    "earlier release unless --allow-shared declares them. Nothing is written "
                    "on an error.")
    create.add_argument("--version", required=True, help="the release's version, e.g. 2026.1")
    create.add_argument("--from", dest="export_dir", required=True,
                        help="the folder `medteb build export --out` wrote")
    create.add_argument("--queries-after", default=None, metavar="YYYY-MM-DD",
                        help="keep only queries dated after this day (undated queries go)")
    create.add_argument("--parent", default=None,
                        help="the parent release (default: the latest in the releases folder)")
    create.add_argument("--no-parent", action="store_true", help="a first release")
    create.add_argument("--allow-shared", action="store_true",
                        help="declare queries shared with an earlier release in the manifest "
                             "instead of refusing them")
    create.add_argument("--releases-dir", default=None, help=_DIR_HELP)
    create.set_defaults(func=_create)

    verify = commands.add_parser(
        "verify", help="check a release against its manifest, byte for byte",
        description="Check every file's SHA-256 and row count, that no file is missing or "
                    "added, and that no query is in an earlier release unless declared. "
                    "Exit status 2 with every problem listed.")
    verify.add_argument("folder", help="the release folder, RELEASES/VERSION")
    verify.set_defaults(func=_verify)

    listing = commands.add_parser("list", help="list the releases, oldest first")
    listing.add_argument("--releases-dir", default=None, help=_DIR_HELP)
    listing.set_defaults(func=_list)


def _create(args: argparse.Namespace) -> int:
    from medteb.release.create import create_release
    from medteb.release.manifest import releases_dir

    root = releases_dir(args.releases_dir)
    manifest = create_release(args.export_dir, root, args.version,
                              queries_after=args.queries_after, parent=args.parent,
                              no_parent=args.no_parent, allow_shared=args.allow_shared)
    counts = ", ".join(f"{t} {s.queries} queries" for t, s in manifest.tasks.items())
    print(f"released {manifest.version} in {root / manifest.version}: {counts}; parent "
          f"{manifest.parent or 'none'}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from medteb.release.verify import verify_release

    print(verify_release(args.folder).to_markdown(), end="")
    return 0


def _list(args: argparse.Namespace) -> int:
    from medteb.release.manifest import list_releases, releases_dir

    root = releases_dir(args.releases_dir)
    releases = list_releases(root)
    if not releases:
        print(f"no releases in {root}")
        return 0
    print("| Version | Created | Parent | Queries | Dated | Query dates | Files |")
    print("|---|---|---|---:|---:|---|---:|")
    for m in releases:
        queries = sum(s.queries for t, s in m.tasks.items() if t != "MedTEB-STS")
        dated = sum(s.dated_queries for s in m.tasks.values())
        firsts = [s.first_date for s in m.tasks.values() if s.first_date]
        lasts = [s.last_date for s in m.tasks.values() if s.last_date]
        window = f"{min(firsts)} – {max(lasts)}" if firsts else "–"
        print(f"| {m.version} | {m.created} | {m.parent or '–'} | {queries} | {dated} | "
              f"{window} | {len(m.files)} |")
    return 0

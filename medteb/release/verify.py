"""``medteb release verify``: a release folder checked against its manifest, byte for byte."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from medteb.release.manifest import MANIFEST, Manifest, ReleaseError, file_entry, read_manifest


@dataclass(frozen=True)
class VerifyReport:
    """A verified release: its manifest and how many files and bytes were checked."""

    manifest: Manifest
    files: int
    bytes: int

    def to_markdown(self) -> str:
        m = self.manifest
        return (f"release {m.version}: ok — {self.files} files ({self.bytes:,} bytes) match "
                f"their SHA-256 and row counts; parent {m.parent or 'none'}; no query shared "
                "with an earlier release" + (" beyond those declared" if m.declared_shared
                                             else "") + "\n")


def verify_release(folder: str | os.PathLike) -> VerifyReport:
    """Check every file's SHA-256 and row count, that no file is missing or added, and that no
    query is shared with an ancestor release (in the same releases folder) unless declared.

    Raises:
        ReleaseError: listing every problem found.
    """
    from medteb.release.create import shared_queries

    root = Path(folder)
    manifest = read_manifest(root)
    problems: list[str] = []
    if root.name != manifest.version:
        problems.append(f"the folder is named {root.name!r} but the manifest says version "
                        f"{manifest.version!r}")
    listed = {entry.path: entry for entry in manifest.files}
    present = {p.relative_to(root).as_posix() for p in root.rglob("*")
               if p.is_file() and p.name != MANIFEST}
    for path in sorted(present - listed.keys()):
        problems.append(f"{path}: not in the manifest (a file was added)")
    for path, entry in sorted(listed.items()):
        if path not in present:
            problems.append(f"{path}: missing")
            continue
        found = file_entry(root, root / path)
        if found.sha256 != entry.sha256:
            problems.append(f"{path}: SHA-256 {found.sha256[:12]}… differs from the "
                            f"manifest's {entry.sha256[:12]}… (the file changed)")
        if found.rows != entry.rows:
            problems.append(f"{path}: {found.rows} rows, the manifest says {entry.rows}")
    if manifest.parent is not None:
        if not (root.parent / manifest.parent / MANIFEST).is_file():
            problems.append(f"parent release {manifest.parent} is not in {root.parent}")
        else:
            shared = shared_queries(root, root.parent, manifest.parent)
            for task, ids in shared.items():
                undeclared = sorted(set(ids) - set(manifest.declared_shared.get(task, [])))
                if undeclared:
                    problems.append(f"{task}: queries {', '.join(undeclared[:5])} are in an "
                                    "earlier release and not declared")
    if problems:
        raise ReleaseError(f"{root}: {len(problems)} problem(s): " + "; ".join(problems))
    return VerifyReport(manifest, len(listed), sum(e.bytes for e in listed.values()))

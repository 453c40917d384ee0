"""Releases: immutable, versioned snapshots of the MedTEB task data (docs/releases.md).

:mod:`.manifest` reads and writes a release's ``manifest.json``; :mod:`.create` cuts a release
from a ``medteb build`` export; :mod:`.verify` checks one byte for byte.
"""

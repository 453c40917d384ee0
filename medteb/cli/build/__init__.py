"""``medteb build``: rebuild MedTEB-format data the paper's way, one resumable stage at a time.

Each stage reads files from a work folder and writes its outputs there atomically; the walkthrough
is docs/building_data.md. Only this package prints and decides file names; the engine is
:mod:`medteb.build`. The stages live in :mod:`~medteb.cli.build.pipeline` (prepare, diversify,
pool, judge, export) and :mod:`~medteb.cli.build.synonyms_audit` (import-cdn, sts, audit).
"""

from __future__ import annotations

import argparse

from medteb.cli.build.common import DOC


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build", help="build MedTEB-format data from your own queries, documents and LLM judges",
        description="Build benchmark data the paper's way (prepare -> diversify -> pool -> judge "
                    f"-> export; sts; audit). Walkthrough: {DOC}.")
    stages = parser.add_subparsers(title="stages", metavar="STAGE", required=True)
    from medteb.cli.build import pipeline, synonyms_audit

    pipeline.add_stage_parsers(stages)
    synonyms_audit.add_stage_parsers(stages)

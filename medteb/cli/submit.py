"""``medteb submit PATH``: validate a run's results, copy them into results/, regenerate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from medteb.benchmark.definitions import SETTINGS

if TYPE_CHECKING:
    from medteb.results.submit import SubmissionPlan


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "submit", help="add a run's results to results/ and leaderboard.md",
        description="Validate the results under PATH (a folder as `medteb run` writes it) and, "
                    "if every check passes, copy them atomically into results/ and regenerate "
                    "leaderboard.md. On any problem nothing is written: every problem is listed "
                    "and the exit status is 1. Recommended: pass --predictions with the run's "
                    "--prediction-folder so that the scores are recomputed and verified. See "
                    "docs/submitting_results.md.")
    parser.add_argument("path", help="the run's output folder (or one <org__model>/<revision>)")
    parser.add_argument("--setting", choices=SETTINGS, default=None,
                        help="zero-shot or fine-tuned (required for benchmark data; results on "
                             "the bundled sample always go to the 'sample' board)")
    parser.add_argument("--training-data", nargs="+", default=None, metavar="NAME",
                        help="mteb task names of the training data, when model_meta.json's "
                             "training_datasets is null ('none' for none)")
    parser.add_argument("--predictions", "--prediction-folder", default=None,
                        help="the run's --prediction-folder: recompute and verify every score")
    parser.add_argument("--data-dir", default=None,
                        help="MedTEB data to recompute benchmark scores on (as `medteb run`)")
    parser.add_argument("--replace", action="store_true",
                        help="replace a result already in results/")
    parser.add_argument("--results", default="results", help="results folder (default: results)")
    parser.add_argument("--leaderboard", default="leaderboard.md",
                        help="leaderboard file to regenerate (default: leaderboard.md)")
    parser.add_argument("--site", default="site", metavar="DIR",
                        help="web site to rebuild after a successful submission, if DIR exists "
                             "(default: site; see `medteb leaderboard --html`)")
    parser.set_defaults(func=_submit)


def _submit(args: argparse.Namespace) -> int:
    from medteb.cli.common import regenerate_leaderboard
    from medteb.errors import SubmissionError
    from medteb.results.submit import SubmitOptions, plan_submission

    options = SubmitOptions(
        setting=args.setting, training_datasets=args.training_data, replace=args.replace,
        predictions=Path(args.predictions) if args.predictions else None, data_dir=args.data_dir,
    )
    try:
        plan = plan_submission(args.path, args.results, options)
    except SubmissionError as err:
        print(f"medteb: {err}", file=sys.stderr)
        return 1
    if Path(args.results).is_dir():
        from medteb.results.layout import load_entries

        load_entries(args.results)  # a broken results/ fails here, before anything is written
    apply_plan(plan, Path(args.results))
    regenerate_leaderboard(args.results, args.leaderboard)
    print(plan.to_markdown(), end="")
    print(f"copied into {args.results}/ and regenerated {args.leaderboard}")
    if Path(args.site).is_dir():  # the web site, when one was built (medteb leaderboard --html)
        from medteb.cli.leaderboard import write_site

        write_site(args.results, args.site)
        print(f"rebuilt the web site in {args.site}/")
    return 0


def apply_plan(plan: SubmissionPlan, results: Path) -> None:
    """Write every planned folder next to its target, then swap it in with renames.

    A folder is complete or absent: files go to a staging folder inside ``results`` (same file
    system), which is renamed into place; a replaced folder is moved aside first and deleted
    only after the swap, and restored if the swap fails.
    """
    import contextlib
    import os
    import shutil
    import tempfile

    results.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".submit-", dir=results))
    swapped: list[tuple[Path, Path | None]] = []
    try:
        for i, entry in enumerate(plan.entries):
            stage = staging / str(i)
            stage.mkdir()
            for name, data in entry.files.items():
                (stage / name).write_bytes(data)
            target = results / entry.folder
            target.parent.mkdir(parents=True, exist_ok=True)
            aside = None
            if target.exists():
                aside = staging / f"{i}.old"
                os.replace(target, aside)
            os.replace(stage, target)
            swapped.append((target, aside))
    except BaseException:
        for target, aside in reversed(swapped):
            shutil.rmtree(target, ignore_errors=True)
            if aside is not None:
                os.replace(aside, target)
        for entry in plan.entries:  # model folders created for this submission, now empty
            with contextlib.suppress(OSError):
                (results / entry.folder).parent.rmdir()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)

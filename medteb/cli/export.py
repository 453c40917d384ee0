"""``medteb export``: publish MedTEB data as Hub datasets, and write an mteb pull request."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="export data for the Hugging Face Hub, or a pull request for mteb",
        description="Publish MedTEB: `hf-dataset` writes each task as a Hub dataset folder in "
                    "the layout mteb loads; `mteb` writes the files of a pull request that adds "
                    "the tasks and the benchmark to mteb itself (docs/upstreaming.md).")
    commands = parser.add_subparsers(title="exports", metavar="EXPORT", required=True)

    hub = commands.add_parser(
        "hf-dataset", help="MedTEB-format data -> Hub dataset folders (parquet + dataset card)",
        description="Write each MedTEB task of DIR as OUT/<Task>/: parquet files in mteb's "
                    "Hub layout (Retrieval/Reranking: corpus, queries, qrels as the default "
                    "configuration, top_ranked; STS: sentence1, sentence2, score) and a README.md "
                    "dataset card (configs, license, citation). Upload each folder as one Hub "
                    "dataset; datasets.load_dataset and mteb read OUT/<Task> as it is.")
    hub.add_argument("--data-dir", required=True,
                     help="a directory of <TaskName>/ folders in MedTEB's format "
                          "(docs/data_format.md), or 'sample' for the bundled sample")
    hub.add_argument("--out", required=True, help="output folder; tasks go to OUT/<TaskName>")
    hub.add_argument("-t", "--tasks", nargs="+", default=None,
                     help="tasks to export (default: every MedTEB task found in --data-dir)")
    hub.add_argument("--overwrite", action="store_true",
                     help="replace existing OUT/<TaskName> folders")
    hub.add_argument("--public-only", action="store_true",
                     help="leave every label out (qrels, STS scores): the part of a "
                          "hidden-label release that may be published (docs/maintaining.md)")
    hub.set_defaults(func=_hf_dataset)

    pr = commands.add_parser(
        "mteb", help="the files of a pull request adding CMedTEB to mteb",
        description="Write, in mteb's repository layout under OUT, the task modules "
                    "(mteb/tasks/{retrieval,reranking,sts}/zho/), their __init__ lines, the "
                    "benchmark (alias CMedTEB), descriptive statistics and PR_DESCRIPTION.md. "
                    "Each task needs a published Hub dataset: its task.yaml source.huggingface, "
                    "or --dataset-repo and --dataset-revision. OUT may be an mteb checkout.")
    pr.add_argument("--out", required=True, help="output folder (e.g. an mteb checkout)")
    pr.add_argument("--data-dir", required=True,
                    help="the published data in MedTEB's format (or 'sample'), for the "
                         "descriptive statistics")
    pr.add_argument("-t", "--tasks", nargs="+", default=None,
                    help="MedTEB tasks to export (default: all three; the benchmark file is "
                         "written only with all three)")
    pr.add_argument("--dataset-repo", action="append", default=[], metavar="[TASK=]ORG/NAME",
                    help="the task's Hub dataset; TASK= may be left out when one task is "
                         "exported; repeat per task")
    pr.add_argument("--dataset-revision", action="append", default=[], metavar="[TASK=]SHA",
                    help="the dataset's pinned Hub commit (40 hex characters); repeat per task")
    pr.set_defaults(func=_mteb)


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _hf_dataset(args: argparse.Namespace) -> int:
    from medteb.export.hf_dataset import export_hf_dataset

    exported = export_hf_dataset(args.data_dir, args.out, args.tasks, overwrite=args.overwrite,
                                 progress=_say, public_only=args.public_only)
    print(f"wrote {len(exported)} dataset folder(s) under {args.out}; upload each as one Hugging "
          "Face dataset (docs/upstreaming.md)")
    return 0


def _mteb(args: argparse.Namespace) -> int:
    from medteb.export.mteb_pr import export_mteb

    written = export_mteb(args.out, args.data_dir, args.tasks, args.dataset_repo,
                          args.dataset_revision, progress=_say)
    print(f"wrote {len(written)} file(s) under {args.out}; see {args.out}/PR_DESCRIPTION.md")
    return 0

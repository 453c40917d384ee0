"""``medteb import cmedqa|chip-sts|chip-cdn``: public releases as MedTEB-format task folders."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import", help="convert a public release into a MedTEB-format data folder",
        description="Convert a public release into task folders of a MedTEB data folder "
                    "(docs/data_format.md), validated as `medteb run --data-dir` reads them; "
                    "nothing is written unless every check passes. Several imports may go to "
                    "the same folder, one task folder each. See docs/importing_data.md.")
    sources = parser.add_subparsers(title="releases", metavar="RELEASE", required=True)
    p = sources.add_parser(
        "cmedqa", help="a cMedQA v1/v2-layout release -> MedTEB-Retrieval and MedTEB-Rerank",
        description="question.csv, answer.csv and <split>_candidates.txt (the cMedQA v1/v2 "
                    "layout, also cEpilepsyQA's) -> MedTEB-Retrieval (every answer a document, "
                    "label-1 candidates relevant) and MedTEB-Rerank (the same, each question "
                    "scored over its candidate list).")
    p.add_argument("source", help="the release folder")
    p.add_argument("-o", "--out", required=True, help="data folder to write into (--data-dir)")
    p.add_argument("--split", default="test",
                   help="which <split>_candidates.txt becomes the test split (default: test)")
    p.set_defaults(func=_cmedqa)
    p = sources.add_parser(
        "chip-sts", help="CBLUE CHIP-STS JSON -> MedTEB-STS (binary labels)",
        description="CHIP-STS records {id, text1, text2, label, category} -> MedTEB-STS pairs "
                    "scored 0/1. The release's test file is unlabelled: use CHIP-STS_dev.json.")
    p.add_argument("files", nargs="+", help="labelled CHIP-STS JSON files (e.g. CHIP-STS_dev.json)")
    p.add_argument("-o", "--out", required=True, help="data folder to write into (--data-dir)")
    p.set_defaults(func=_chip_sts)
    p = sources.add_parser(
        "chip-cdn", help="CBLUE CHIP-CDN JSON -> MedTEB-Retrieval (term normalisation)",
        description="CHIP-CDN records {text, normalized_result} -> MedTEB-Retrieval as term "
                    "normalisation: raw clinical terms are the queries, every distinct standard "
                    "term the corpus, a term's standard terms (joined by ##) its relevant "
                    "documents. For the synonym dictionary of `medteb build sts` use `medteb "
                    "build import-cdn`.")
    p.add_argument("files", nargs="+", help="labelled CHIP-CDN JSON files (train and/or dev)")
    p.add_argument("-o", "--out", required=True, help="data folder to write into (--data-dir)")
    p.set_defaults(func=_chip_cdn)


def _cmedqa(args: argparse.Namespace) -> int:
    from medteb.benchmark.data.cmedqa import import_cmedqa_release

    s = import_cmedqa_release(args.source, args.out, split=args.split)
    print(f"wrote {s.destination}/MedTEB-Retrieval and MedTEB-Rerank: {s.queries} queries, "
          f"{s.documents} documents, {s.positives} relevant, {s.candidates} rerank candidates")
    return 0


def _chip_sts(args: argparse.Namespace) -> int:
    from medteb.benchmark.data.chip import import_chip_sts

    s = import_chip_sts(args.files, args.out)
    categories = ", ".join(f"{k} {v}" for k, v in s.categories.items())
    print(f"wrote {s.destination}/MedTEB-STS: {s.pairs} pairs ({s.positives} labelled 1, "
          f"{s.pairs - s.positives} labelled 0; {categories})")
    return 0


def _chip_cdn(args: argparse.Namespace) -> int:
    from medteb.benchmark.data.chip import import_chip_cdn

    s = import_chip_cdn(args.files, args.out)
    merged = f"; {s.merged} repeated raw terms merged" if s.merged else ""
    print(f"wrote {s.destination}/MedTEB-Retrieval: {s.queries} queries (raw terms), "
          f"{s.documents} documents (standard terms), {s.positives} relevant{merged}")
    return 0

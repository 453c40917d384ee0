"""The benchmark's citations, and BibTeX normalised the way mteb's citation test expects.

MedTEB was first circulated as "MedTEB and MAR" (under review at ICLR 2026); the published version
calls the benchmark CMedTEB ("CMedTEB & CARE", ACL 2026, arXiv 2604.10937). Both are cited.

mteb's test suite re-formats every ``bibtex_citation`` with bibtexparser's writer (fields in
alphabetical order, two-space indent, ``key = {value},`` with a trailing comma) and requires the
stored text to equal the result; :func:`normalise_bibtex` writes that form.
"""

from __future__ import annotations

import re

from medteb.errors import MedtebError

CMEDTEB_BIBTEX = r"""@inproceedings{cmedteb2026,
  author = {Jiang, Angqing and Chen, Jianlyu and Fang, Zhe and Wang, Yongcan and Li, Xinpeng and Ding, Keyu and Lian, Defu},
  booktitle = {Proceedings of the 64th Annual Meeting of the Association for Computational Linguistics (ACL 2026)},
  eprint = {2604.10937},
  archiveprefix = {arXiv},
  title = {{CMedTEB} \& {CARE}: Benchmarking and Enabling Efficient Chinese Medical Retrieval via Asymmetric Encoders},
  url = {https://arxiv.org/abs/2604.10937},
  year = {2026},
}"""

MEDTEB_BIBTEX = r"""@misc{medteb2025,
  author = {Anonymous},
  howpublished = {Under review as a conference paper at ICLR 2026},
  note = {Later revised as "CMedTEB \& CARE: Benchmarking and Enabling Efficient Chinese Medical Retrieval via Asymmetric Encoders"},
  title = {{MedTEB} and {MAR}: A Chinese Medical Text Embedding Benchmark and a Medical Asymmetric Retriever},
  year = {2025},
}"""


class BibtexError(MedtebError, ValueError):
    """A BibTeX string that :func:`normalise_bibtex` cannot read."""


_ENTRY_HEAD = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", re.ASCII)
_FIELD_NAME = re.compile(r"\s*([A-Za-z][\w-]*)\s*=\s*", re.ASCII)


def _braced(text: str, start: int) -> tuple[str, int]:
    """Return the content of the brace group opening at ``text[start]`` and the index after it."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{" and text[i - 1] != "\\":
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
    raise BibtexError(f"unbalanced braces in BibTeX after {text[start:start + 40]!r}")


def _value(text: str, start: int) -> tuple[str, int]:
    if text[start] == "{":
        return _braced(text, start)
    if text[start] == '"':
        end = text.index('"', start + 1)
        return text[start + 1:end], end + 1
    match = re.compile(r"[\w.-]+").match(text, start)
    if match is None:
        raise BibtexError(f"cannot read a BibTeX value at {text[start:start + 40]!r}")
    return match.group(0), match.end()


def _entries(bibtex: str) -> list[tuple[str, str, dict[str, str]]]:
    entries = []
    pos = 0
    while (head := _ENTRY_HEAD.search(bibtex, pos)) is not None:
        kind, key = head.group(1).lower(), head.group(2)
        fields: dict[str, str] = {}
        pos = head.end()
        while True:
            rest = bibtex[pos:].lstrip(" \t\r\n,")
            pos = len(bibtex) - len(rest)
            if not rest:
                raise BibtexError(f"entry {key!r} is not closed with '}}'")
            if rest.startswith("}"):
                pos += 1
                break
            name = _FIELD_NAME.match(bibtex, pos)
            if name is None:
                raise BibtexError(f"entry {key!r}: cannot read a field at {rest[:40]!r}")
            value, pos = _value(bibtex, name.end())
            fields[name.group(1).lower()] = " ".join(value.split())
        entries.append((kind, key, fields))
    if not entries:
        raise BibtexError("no BibTeX entry found")
    return entries


def normalise_bibtex(bibtex: str) -> str:
    """Rewrite BibTeX in the form mteb's citation test compares against.

    Entries are sorted by key; fields are alphabetical, lower-case, indented by two spaces, each
    ``name = {value},``; entries are separated by a blank line.

    Example:
        >>> print(normalise_bibtex("@Misc{k, Year=2025, title={A}}"))
        @misc{k,
          title = {A},
          year = {2025},
        }

    Raises:
        BibtexError: the text holds no entry or an unbalanced one.
    """
    blocks = []
    for kind, key, fields in sorted(_entries(bibtex), key=lambda e: e[1]):
        lines = [f"@{kind}{{{key},"]
        lines += [f"  {name} = {{{fields[name]}}}," for name in sorted(fields)]
        blocks.append("\n".join([*lines, "}"]))
    return "\n\n".join(blocks)


#: what the benchmark (and the tasks mteb receives) cite: the published version and the original
BENCHMARK_CITATION = normalise_bibtex(CMEDTEB_BIBTEX + "\n\n" + MEDTEB_BIBTEX)

"""Stage 1: clean, anonymise and exact-deduplicate raw queries or documents.

- Cleaning: control characters removed, every run of whitespace (including the full-width space
  U+3000 and no-break spaces) becomes one space, ends stripped; texts shorter than
  ``min_chars`` (after cleaning and masking) are dropped.
- Anonymisation masks identifiers that can be detected reliably, in this order: URLs, e-mail
  addresses, Chinese resident ID numbers (18 digits whose ISO 7064 check digit and birth date
  are valid), bank card numbers (16-19 digits passing the Luhn check), mainland mobile numbers
  (1[3-9] + 9 digits, optional +86), landline numbers (0 + area code + 7-8 digits, with a
  separator), and QQ / WeChat ids written after their keyword. Each becomes a tag such as
  ``[PHONE]``. Names and addresses are *not* detected (no reliable pattern); say so in your
  datasheet.
- Exact duplicates (same text after cleaning and masking) are dropped, keeping the first.

Ids are kept when the input gives them; otherwise they are ``<prefix>`` + the first 12 hex
digits of the text's sha256, so they do not change when the input is re-ordered.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from medteb.build.io import iter_json_objects
from medteb.errors import BuildInputError

_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.I)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_ID18 = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[0-9Xx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<!\d)\d{16,19}(?!\d)")
_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(?:\(0\d{2,3}\)|0\d{2,3}[-－ ])\d{7,8}(?!\d)")
_QQ = re.compile(r"(?i)((?:qq|扣扣)(?:号|号码)?\s*[:：是为]?\s*)[1-9]\d{4,10}(?!\d)")
_WECHAT = re.compile(r"(?i)((?:微信|vx|wechat|weixin)(?:号)?\s*[:：是为]?\s*)"
                     r"[A-Za-z][A-Za-z0-9_\-]{5,19}(?![A-Za-z0-9_\-])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_id_number(text: str) -> bool:
    """Whether an 18-character string is a valid Chinese resident ID (check digit, birth date)."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != text[17].upper():
        return False
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def anonymise(text: str) -> tuple[str, Counter[str]]:
    """Mask the identifiers listed in the module docstring; returns the text and counts per kind.

    >>> anonymise("电话13812345678，邮箱a.b@example.com")
    ('电话[PHONE]，邮箱[EMAIL]', Counter({'email': 1, 'phone': 1}))
    """
    counts: Counter[str] = Counter()

    def sub(pattern: re.Pattern, kind: str, tag: str, text: str, check: Any = None,
            keep_prefix: bool = False) -> str:
        def repl(m: re.Match) -> str:
            if check is not None and not check(m.group(0)):
                return m.group(0)
            counts[kind] += 1
            return (m.group(1) if keep_prefix else "") + tag
        return pattern.sub(repl, text)

    text = sub(_URL, "url", "[URL]", text)
    text = sub(_EMAIL, "email", "[EMAIL]", text)
    text = sub(_ID18, "id_number", "[ID]", text, check=valid_id_number)
    text = sub(_CARD, "bank_card", "[CARD]", text, check=_luhn)
    text = sub(_MOBILE, "phone", "[PHONE]", text)
    text = sub(_LANDLINE, "phone", "[PHONE]", text)
    text = sub(_QQ, "qq", "[QQ]", text, keep_prefix=True)
    text = sub(_WECHAT, "wechat", "[WECHAT]", text, keep_prefix=True)
    return text, counts


def clean(text: str) -> str:
    """Remove control characters and collapse whitespace (full-width spaces included)."""
    text = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(text.split())


@dataclass(frozen=True)
class PrepareReport:
    """What preparation kept, dropped (per reason) and masked (per identifier kind)."""

    kind: str
    read: int
    kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    masked: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "read": self.read, "kept": self.kept,
                "dropped": dict(sorted(self.dropped.items())),
                "masked": dict(sorted(self.masked.items()))}

    def to_markdown(self) -> str:
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items())) or "none"
        masked = ", ".join(f"{k} {v}" for k, v in sorted(self.masked.items())) or "none"
        return (f"{self.kind}: read {self.read}, kept {self.kept}; dropped: {dropped}; "
                f"masked: {masked}\n")


def prepare_texts(rows: Iterable[dict[str, Any]], *, kind: str, id_prefix: str,
                  min_chars: int = 5) -> tuple[list[dict[str, str]], PrepareReport]:
    """Clean, anonymise and deduplicate ``{"text", "_id"?, "title"?}`` rows.

    Returns:
        The kept rows (``_id``, ``text`` and, when given, ``title``) and the report.
    """
    kept: list[dict[str, str]] = []
    seen_text: set[str] = set()
    seen_ids: set[str] = set()
    dropped: Counter[str] = Counter()
    masked: Counter[str] = Counter()
    read = 0
    for row in rows:
        read += 1
        raw = row.get("text")
        text = clean(raw) if isinstance(raw, str) else ""
        if not text:
            dropped["empty"] += 1
            continue
        text, counts = anonymise(text)
        if len(text) < min_chars:
            dropped["too_short"] += 1
            continue
        if text in seen_text:
            dropped["duplicate"] += 1
            continue
        doc_id = str(row["_id"]) if row.get("_id") not in (None, "") else (
            id_prefix + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12])
        if doc_id in seen_ids:
            dropped["duplicate_id"] += 1
            continue
        masked.update(counts)
        seen_text.add(text)
        seen_ids.add(doc_id)
        out = {"_id": doc_id, "text": text}
        if row.get("date") not in (None, ""):
            out["date"] = row["date"]
        title = row.get("title")
        if isinstance(title, str) and clean(title):
            out["title"] = anonymise(clean(title))[0]
        kept.append(out)
    return kept, PrepareReport(kind=kind, read=read, kept=len(kept), dropped=dict(dropped),
                               masked=dict(masked))


def _query_date(value: Any, file: Path, number: int) -> str | None:
    """A record's date (None when it has none), checked as the data format checks it."""
    from medteb.benchmark.data.formats import date_problem

    if value in (None, ""):
        return None
    problem = date_problem(value)
    if problem:
        raise BuildInputError(f"{file} record {number}: {problem} (from --date-field)")
    return str(value)


def read_raw(path: str | Path, *, text_field: str = "text", id_field: str | None = None,
             title_field: str | None = None, encoding: str = "utf-8",
             limit: int | None = None, date_field: str | None = None) -> list[dict[str, Any]]:
    """Read raw texts from ``.jsonl`` (``text_field``), ``.csv`` (column) or ``.txt`` (lines).

    Args:
        path: the input file.
        text_field: JSONL key or CSV column holding the text.
        id_field: JSONL key or CSV column holding an id to keep (default: ids from the text).
        title_field: JSONL key or CSV column holding a title (documents).
        date_field: JSONL key or CSV column holding the date a query was asked or collected
            (``YYYY-MM-DD``; kept as the query's ``date``).
        encoding: e.g. ``gb18030`` for the Chinese-medical-dialogue CSV files.
        limit: read only the first ``limit`` records.

    Raises:
        BuildInputError: missing file, wrong encoding, unknown column or invalid JSON line.
    """
    file = Path(path)
    if not file.is_file():
        raise BuildInputError(f"{file}: no such file")
    try:
        with file.open(encoding=encoding, newline="") as handle:
            records = list(_records(handle, file, text_field, id_field, title_field, limit,
                                    date_field))
    except UnicodeDecodeError as err:
        raise BuildInputError(f"{file}: not valid {encoding} ({err.reason} at byte {err.start}); "
                              "pass the file's encoding, e.g. --encoding gb18030") from err
    return records


def _records(handle: Any, file: Path, text_field: str, id_field: str | None,
             title_field: str | None, limit: int | None,
             date_field: str | None = None) -> Iterable[dict[str, Any]]:
    suffix = file.suffix.lower()
    if suffix == ".csv":
        reader = csv.DictReader(handle)
        columns: Sequence[str] = reader.fieldnames or []
        for name in (text_field, id_field, title_field, date_field):
            if name and name not in columns:
                raise BuildInputError(f"{file}: no column {name!r}; the columns are "
                                      f"{', '.join(columns)}")
        source: Iterable[dict[str, Any]] = reader
    elif suffix in (".jsonl", ".json"):
        source = iter_json_objects(handle, file)
    else:
        source = ({"text": line} for line in handle)
        if date_field:
            raise BuildInputError(f"{file}: a .txt file has no fields; --date-field needs a "
                                  ".jsonl or .csv file")
        text_field, id_field, title_field = "text", None, None
    for count, obj in enumerate(source):
        if limit is not None and count >= limit:
            return
        row = {"text": obj.get(text_field)}
        if id_field:
            row["_id"] = obj.get(id_field)
        if title_field:
            row["title"] = obj.get(title_field)
        if date_field:
            row["date"] = _query_date(obj.get(date_field), file, count + 1)
        yield row

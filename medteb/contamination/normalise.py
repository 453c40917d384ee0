"""The one text normalisation of the contamination audit (docs/contamination.md).

Unicode NFKC (which also folds full-width letters, digits and punctuation to half width),
case folding, then every whitespace, punctuation and symbol character removed:
``"感冒 多久，能好？"`` and ``"感冒多久能好?"`` normalise alike.
"""

from __future__ import annotations

import unicodedata

_DROP_CATEGORIES = ("P", "Z", "S", "C")  # punctuation, separators, symbols, control/format


def _dropped(char: str) -> bool:
    return char.isspace() or unicodedata.category(char)[0] in _DROP_CATEGORIES


_KEEP_CACHE: dict[str, bool] = {}


def normalise(text: str) -> str:
    """``text`` as the audit compares it: NFKC, case-folded, without whitespace/punctuation.

    >>> normalise("ＣＴ 检查，怎么做？")
    'ct检查怎么做'
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    keep = _KEEP_CACHE
    out = []
    for char in folded:
        kept = keep.get(char)
        if kept is None:
            kept = keep[char] = not _dropped(char)
        if kept:
            out.append(char)
    return "".join(out)

"""Text normalisation shared by search, fingerprints and password checks."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[\s\-'’.]+")


def fold(value: str) -> str:
    """Lower case, no accents, apostrophes and hyphens as spaces: « Dupônt-Lévy » → « dupont levy »."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def compact(value: str) -> str:
    """`fold` without spaces: for comparisons that ignore how a name is split."""
    return fold(value).replace(" ", "")

"""Blind indexes: search encrypted names without storing them (CipherSweet's design).

An index value is HMAC-SHA256(blind key, kind ‖ normalised value), truncated to a few bits so
that each value is shared by several rows: the database learns which rows *may* share a
value, never the value. Searching computes the same value for the query, fetches the
candidate rows, decrypts them and drops the false positives.

How many bits: CipherSweet's planner rule. With R rows expected and an index of L bits, a
value is shared by C = R / 2^L rows on average ("coincidences"); C must stay at least 2 so
that no index value points at a single row:  L = floor(log2(R / 2)).  For R = 100,000:
L = floor(log2(50,000)) = floor(15.61) = 15 bits, 32,768 values, C ≈ 3. docs/encryption.md
shows the numbers for each kind of index.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable

from hygie.lib.text import compact, fold

# The size of practice the indexes are planned for (a large maison de santé).
EXPECTED_ROWS = 100_000
MIN_COINCIDENCES = 2

# Prefixes of each name word from 2 letters; longer query words are cut to MAX_PREFIX letters
# for the lookup, then matched in full after decryption.
MIN_PREFIX = 2
MAX_PREFIX = 8
# Prefixes of the whole name typed without spaces (« moreaujea »).
MIN_FULL_PREFIX = 3
MAX_FULL_PREFIX = 16


class Kind:
    LAST_NAME = "ln"  # prefixes of each word of the birth and usage names
    FIRST_NAME = "fn"  # prefixes of each word of the first names
    FULL_NAME = "fp"  # prefixes of the full name, last+first and first+last, without spaces
    BIRTH_DATE = "bd"  # ISO date
    INS = "ins"  # the 13 first characters of the INS / NIR (without its key)


def planned_bits(rows: int = EXPECTED_ROWS, coincidences: int = MIN_COINCIDENCES) -> int:
    """CipherSweet's rule: the largest L with rows / 2^L >= coincidences (at least 1 bit)."""
    return max(1, math.floor(math.log2(rows / coincidences)))


BITS = planned_bits()


def value(key: bytes, kind: str, normalised: str, bits: int = BITS) -> int:
    """The index value of `normalised` for `kind`: the first `bits` bits of the HMAC, as an int."""
    mac = hmac.new(key, kind.encode() + b"\x1f" + normalised.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(mac[:4], "big") >> (32 - bits)


def prefixes(word: str, lo: int = MIN_PREFIX, hi: int = MAX_PREFIX) -> list[str]:
    return [word[:n] for n in range(lo, min(len(word), hi) + 1)]


def lookup_prefix(word: str, hi: int = MAX_PREFIX) -> str:
    """The stored prefix a query word is looked up by: the word itself, cut to `hi`."""
    return word[:hi]


def name_terms(birth_name: str, usage_name: str, first_names: str) -> set[tuple[str, str]]:
    """(kind, normalised value) pairs to index for a patient's names."""
    terms: set[tuple[str, str]] = set()
    for word in fold(f"{birth_name} {usage_name}").split():
        terms.update((Kind.LAST_NAME, p) for p in prefixes(word))
    for word in fold(first_names).split():
        terms.update((Kind.FIRST_NAME, p) for p in prefixes(word))
    first = compact(first_names)
    for last in {compact(birth_name), compact(usage_name)} - {""}:
        for full in (last + first, first + last):
            terms.update((Kind.FULL_NAME, p) for p in prefixes(full, MIN_FULL_PREFIX, MAX_FULL_PREFIX))
    return terms


def values(key: bytes, terms: Iterable[tuple[str, str]], bits: int = BITS) -> set[tuple[str, int]]:
    return {(kind, value(key, kind, term, bits)) for kind, term in terms}

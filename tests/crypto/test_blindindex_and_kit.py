"""Blind-index sizing and values; the printable recovery code."""

from __future__ import annotations

import pytest

from hygie.lib import blindindex, recoverykit
from hygie.lib.blindindex import Kind


def test_it_sizes_indexes_with_ciphersweets_rule():
    # 100,000 rows, at least 2 rows per value: floor(log2(50,000)) = 15 bits.
    assert blindindex.planned_bits(100_000, 2) == 15
    assert 100_000 / 2**15 >= 2 > 100_000 / 2**16
    assert blindindex.planned_bits(2_000, 2) == 9
    assert blindindex.BITS == 15


def test_values_are_keyed_truncated_and_separated_by_kind():
    key, other = b"k" * 32, b"o" * 32
    v = blindindex.value(key, Kind.LAST_NAME, "dupont")
    assert 0 <= v < 2**blindindex.BITS
    assert v == blindindex.value(key, Kind.LAST_NAME, "dupont")
    # Across many values the kind and the key change the value (collisions stay rare).
    words = [f"nom{i}" for i in range(200)]
    v = blindindex.value
    same_kind = sum(v(key, Kind.LAST_NAME, w) == v(key, Kind.FIRST_NAME, w) for w in words)
    same_key = sum(v(key, Kind.LAST_NAME, w) == v(other, Kind.LAST_NAME, w) for w in words)
    assert same_kind < 5 and same_key < 5


def test_name_terms_fold_accents_and_case():
    terms = blindindex.name_terms("Dupônt-Lévy", "", "Élise")
    assert (Kind.LAST_NAME, "du") in terms and (Kind.LAST_NAME, "dupont") in terms
    assert (Kind.LAST_NAME, "levy") in terms and (Kind.FIRST_NAME, "el") in terms
    assert (Kind.FULL_NAME, "dupontlevyeli") in terms and (Kind.FULL_NAME, "elisedup") in terms
    assert all(term == term.lower() and "ô" not in term for _, term in terms)


def test_the_recovery_code_round_trips_and_catches_typos():
    keys = (b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)
    code = recoverykit.encode(*keys)
    assert recoverykit.decode(code) == keys
    # Lower case, dashes and line numbers as printed are accepted.
    printed = "\n".join(recoverykit.lines(code))
    assert recoverykit.decode(recoverykit.find_code(printed).lower().replace(" ", "-")) == keys
    typo = code[:10] + ("A" if code[10] != "A" else "B") + code[11:]
    with pytest.raises(recoverykit.KitError, match="somme de contrôle"):
        recoverykit.decode(typo)
    with pytest.raises(recoverykit.KitError):
        recoverykit.decode(code[:-5])

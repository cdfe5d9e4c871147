"""The INS (identifiant national de santé) as Hygie stores it: the NIR, 13 characters and its
2-digit key. Pure: no Django.

The key is 97 minus the NIR modulo 97; for a birth in Corsica the department 2A counts as 19
and 2B as 18 (the NIR's own rule). A well-formed INS is not a *qualified* identity: qualification
(the INSi teleservice) is not recorded by Hygie (docs/rights.md).
"""

from __future__ import annotations

import re

# ANS, Référentiel INS: OID of the INS-NIR in an identifier system (FR Core patient-ins).
INS_NIR_OID = "urn:oid:1.2.250.1.213.1.4.8"

_NIR = re.compile(r"^[1-478]\d{2}(0[1-9]|1[0-2]|[2-9]\d)(\d{2}|2A|2B)\d{6}\d{2}$")


def normalise(value: str) -> str:
    return re.sub(r"[\s.-]", "", value or "").upper()


def is_valid_nir(value: str) -> bool:
    """A 15-character NIR (sex, year, month, place, order) whose key matches."""
    text = normalise(value)
    if not _NIR.match(text):
        return False
    body, key = text[:13], int(text[13:])
    corsica = {"2A": "19", "2B": "18"}.get(body[5:7])
    if corsica is not None:
        body = body[:5] + corsica + body[7:]
    return 97 - int(body) % 97 == key

"""The recovery kit: the practice's long-lived keys in a form a person can print and type back.

Payload (97 bytes): format (1) | fingerprint key (32) | data root key (32) | master key (32),
followed by the first 4 bytes of its SHA-256 as a checksum, written in base32 (RFC 4648,
A-Z and 2-7, no padding: 162 characters) in groups of 4. Typing errors are caught by the
checksum; lower case, spaces, dashes and the look-alikes 0/O, 1/I, 8/B are accepted.
"""

from __future__ import annotations

import base64
import hashlib
import re

KIT_FORMAT = 1
_KEY = 32
_CHECK = 4
GROUP = 4
GROUPS_PER_LINE = 8


class KitError(Exception):
    """Unreadable recovery code. French message for the user."""


def encode(fingerprint_key: bytes, data_root_key: bytes, kek: bytes) -> str:
    if not len(fingerprint_key) == len(data_root_key) == len(kek) == _KEY:
        raise ValueError("keys are 32 bytes")
    payload = bytes([KIT_FORMAT]) + fingerprint_key + data_root_key + kek
    text = base64.b32encode(payload + hashlib.sha256(payload).digest()[:_CHECK]).decode().rstrip("=")
    return " ".join(text[i : i + GROUP] for i in range(0, len(text), GROUP))


def lines(code: str) -> list[str]:
    """The code as numbered lines (« L01 ABCD EFGH … »), as printed on the kit."""
    groups = code.split()
    return [
        f"L{n:02d}  " + " ".join(groups[i : i + GROUPS_PER_LINE])
        for n, i in enumerate(range(0, len(groups), GROUPS_PER_LINE), start=1)
    ]


def decode(text: str) -> tuple[bytes, bytes, bytes]:
    """(fingerprint key, data root key, master key) from a typed or printed code."""
    cleaned = re.sub(r"[\s\-]", "", text).upper().translate(str.maketrans("018", "OIB"))
    if not re.fullmatch(r"[A-Z2-7]+", cleaned or "-"):
        raise KitError("Le code de récupération contient des caractères inattendus (lettres A-Z et chiffres 2-7).")
    try:
        raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except ValueError:
        raise KitError("Code de récupération incomplet : vérifiez chaque groupe.") from None
    payload, check = raw[:-_CHECK], raw[-_CHECK:]
    if len(payload) != 1 + 3 * _KEY:
        raise KitError("Code de récupération incomplet : vérifiez le nombre de groupes.")
    if hashlib.sha256(payload).digest()[:_CHECK] != check:
        raise KitError("Code de récupération erroné (somme de contrôle) : vérifiez chaque groupe.")
    if payload[0] != KIT_FORMAT:
        raise KitError("Version du kit de récupération non reconnue.")
    return payload[1:33], payload[33:65], payload[65:97]


def find_code(text: str) -> str:
    """The recovery code inside a kit (text or the text of its PDF): the lines of groups."""
    found = re.findall(r"(?m)^\s*L(\d\d)\s+([A-Z2-7][A-Z2-7 \t]*?)\s*$", text)
    if not found:
        raise KitError("Aucun code de récupération trouvé dans ce fichier.")
    # In line order, each line once (a PDF's text may repeat or reorder them).
    by_line = {int(n): groups for n, groups in found}
    return " ".join(by_line[n] for n in sorted(by_line))

"""The recovery kit: the practice's long-lived keys in a form a person can print and type back.

The recovery code, lines L01, L02…: format (1) | fingerprint key (32) | data root key (32) |
master key (32) — 97 bytes.
The journal signing key, lines J01, J02…: format (1) | Ed25519 private key (32) — 33 bytes.

Each payload is followed by the first 4 bytes of its SHA-256 as a checksum and written in
base32 (RFC 4648, A-Z and 2-7, no padding: 162 and 60 characters) in groups of 4. Typing errors
are caught by the checksum; lower case, spaces, dashes and the look-alikes 0/O, 1/I, 8/B are
accepted.
"""

from __future__ import annotations

import base64
import hashlib
import re

KIT_FORMAT = 1
SIGNING_FORMAT = 1
CODE_PREFIX = "L"
SIGNING_PREFIX = "J"
_KEY = 32
_CHECK = 4
GROUP = 4
GROUPS_PER_LINE = 8


class KitError(Exception):
    """Unreadable recovery code. French message for the user."""


def _grouped(payload: bytes) -> str:
    text = base64.b32encode(payload + hashlib.sha256(payload).digest()[:_CHECK]).decode().rstrip("=")
    return " ".join(text[i : i + GROUP] for i in range(0, len(text), GROUP))


def encode(fingerprint_key: bytes, data_root_key: bytes, kek: bytes) -> str:
    if not len(fingerprint_key) == len(data_root_key) == len(kek) == _KEY:
        raise ValueError("keys are 32 bytes")
    return _grouped(bytes([KIT_FORMAT]) + fingerprint_key + data_root_key + kek)


def encode_signing_key(private_key: bytes) -> str:
    """The journal signing key (Ed25519, 32 raw bytes) as groups, for the lines J01, J02…"""
    if len(private_key) != _KEY:
        raise ValueError("the signing key is 32 bytes")
    return _grouped(bytes([SIGNING_FORMAT]) + private_key)


def lines(code: str, prefix: str = CODE_PREFIX) -> list[str]:
    """The code as numbered lines (« L01 ABCD EFGH … »), as printed on the kit."""
    groups = code.split()
    return [
        f"{prefix}{n:02d}  " + " ".join(groups[i : i + GROUPS_PER_LINE])
        for n, i in enumerate(range(0, len(groups), GROUPS_PER_LINE), start=1)
    ]


def _payload(text: str, size: int, what: str, *, feminine: bool = False) -> bytes:
    """The checked payload (format byte first) of a typed or printed code of `size` bytes.
    `what` names the code in the messages (« Code de récupération »…)."""
    incomplete, wrong = ("incomplète", "erronée") if feminine else ("incomplet", "erroné")
    cleaned = re.sub(r"[\s\-]", "", text).upper().translate(str.maketrans("018", "OIB"))
    if not re.fullmatch(r"[A-Z2-7]+", cleaned or "-"):
        raise KitError(f"{what} : caractères inattendus (lettres A-Z et chiffres 2-7).")
    try:
        raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except ValueError:
        raise KitError(f"{what} {incomplete} : vérifiez chaque groupe.") from None
    payload, check = raw[:-_CHECK], raw[-_CHECK:]
    if len(payload) != size:
        raise KitError(f"{what} {incomplete} : vérifiez le nombre de groupes.")
    if hashlib.sha256(payload).digest()[:_CHECK] != check:
        raise KitError(f"{what} {wrong} (somme de contrôle) : vérifiez chaque groupe.")
    return payload


def decode(text: str) -> tuple[bytes, bytes, bytes]:
    """(fingerprint key, data root key, master key) from a typed or printed code."""
    payload = _payload(text, 1 + 3 * _KEY, "Code de récupération")
    if payload[0] != KIT_FORMAT:
        raise KitError("Version du kit de récupération non reconnue.")
    return payload[1:33], payload[33:65], payload[65:97]


def decode_signing_key(text: str) -> bytes:
    """The journal signing key (Ed25519 private key, 32 bytes) from the lines J01, J02…"""
    payload = _payload(text, 1 + _KEY, "Clé de signature du journal (lignes J01, J02…)", feminine=True)
    if payload[0] != SIGNING_FORMAT:
        raise KitError("Version de la clé de signature du journal non reconnue.")
    return payload[1:]


def find_lines(text: str, prefix: str) -> str:
    """The groups of the lines `prefix`01, `prefix`02… of a kit (text or the text of its
    PDF), in line order; "" if there are none."""
    found = re.findall(rf"(?m)^\s*{re.escape(prefix)}(\d\d)\s+([A-Z2-7][A-Z2-7 \t]*?)\s*$", text)
    # In line order, each line once (a PDF's text may repeat or reorder them).
    by_line = {int(n): groups for n, groups in found}
    return " ".join(by_line[n] for n in sorted(by_line))


def find_code(text: str) -> str:
    """The recovery code inside a kit (text or the text of its PDF): the lines of groups."""
    code = find_lines(text, CODE_PREFIX)
    if not code:
        raise KitError("Aucun code de récupération trouvé dans ce fichier.")
    return code


# An age X25519 identity (bech32, 74 characters in all). Broad on purpose: a damaged line is
# found, then refused by the caller's check, rather than taken for a missing one.
_AGE_SECRET = re.compile(r"AGE-SECRET-KEY-1[0-9A-Z]+")


def find_age_identity(text: str) -> str:
    """The AGE-SECRET-KEY-1… line of a kit; "" if there is none (kit printed before backups).
    Not checked here (hygie.lib.backuparchive.recipient_of does)."""
    found = set(_AGE_SECRET.findall(text))
    if len(found) > 1:
        raise KitError("Plusieurs identités de sauvegarde (AGE-SECRET-KEY-1…) dans ce fichier : gardez la bonne.")
    return found.pop() if found else ""

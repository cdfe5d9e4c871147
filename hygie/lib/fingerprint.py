"""Keyed fingerprints of a patient's identity: find duplicates without storing plaintext."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from hygie.lib.text import compact


def fingerprint(key: bytes, birth_name: str, first_names: str, birth_date: date) -> str:
    first = compact(first_names.split(" ")[0] if first_names.strip() else "")
    message = "\x1f".join([compact(birth_name), first, birth_date.isoformat()]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


from __future__ import annotations

from datetime import date

from django.conf import settings

from hygie.lib.fingerprint import fingerprint


def identity_fingerprint(birth_name: str, first_names: str, birth_date: date) -> str:
    """With the practice's fingerprint key (kept in the key file, outside the data dir)."""
    if not settings.HYGIE_FINGERPRINT_KEY:
        raise RuntimeError("Clés non chargées : lancez « hygie init ».")
    return fingerprint(settings.HYGIE_FINGERPRINT_KEY, birth_name, first_names, birth_date)

from __future__ import annotations

from datetime import date

from django.conf import settings

from hygie.lib.fingerprint import fingerprint


def identity_fingerprint(birth_name: str, first_names: str, birth_date: date) -> str:
    """With the practice's fingerprint key (kept in the key file, outside the data dir; sealed
    with the other keys in passphrase mode: KeysLocked until the process is unlocked)."""
    key = settings.HYGIE_FINGERPRINT_KEY
    if not key and settings.HYGIE_KEYS_PROTECTED:
        from hygie.keys import service

        key = service.fingerprint_key()
    if not key:
        raise RuntimeError("Clés non chargées : lancez « hygie init ».")
    return fingerprint(key, birth_name, first_names, birth_date)

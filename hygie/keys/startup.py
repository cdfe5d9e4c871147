"""Checks before serving: the key file opens the data of this database.

For `hygie serve` (hook to add in hygie/core/management/commands/serve.py, after
startup.prepare_database()):

    from hygie.keys.startup import KeysMismatch, check_keys_open_the_data
    try: check_keys_open_the_data()
    except KeysMismatch as exc: raise CommandError(str(exc), returncode=2) from None
"""

from __future__ import annotations

from hygie.keys import service
from hygie.keys.models import PatientKey


class KeysMismatch(Exception):
    """The key file cannot open this database's data. French message for the user."""


def check_keys_open_the_data() -> None:
    used = set(PatientKey.objects.values_list("kek_id", flat=True).distinct())
    if not used:
        return
    try:
        known = set(service.material().keks)
    except service.KeysLocked:
        # Passphrase mode, not unlocked yet: the ids of the master keys are readable.
        known = set(service.header().kek_ids)
    except service.KeysUnavailable as exc:
        raise KeysMismatch(
            f"{exc}\nLes dossiers des patients sont chiffrés : sans le fichier de clés, Hygie ne peut pas les lire. "
            "Reconstituez-le avec le kit de récupération : hygie keys recover (docs/operations.md)."
        ) from None
    missing = used - known
    if missing:
        raise KeysMismatch(
            f"Le fichier de clés ne contient pas la clé maîtresse {', '.join(sorted(missing))} qui protège des "
            "dossiers de cette base : mauvais fichier de clés, ou fichier d'avant une rotation ? "
            "Voir docs/operations.md, « Récupération des clés »."
        )

"""Crypto-shredding and the erasure register.

`destroy_key(patient_pk)` destroys the patient's data key and writes the register; the patient's
rows go in the same transaction (hygie.patients.actions.erase_patient). The register keeps the
internal id and the date only, in the database and in `erasures.jsonl` next to the key file: a
backup restored later is erased again (hygie.patients.actions.reapply_erasures, command
`hygie keys reapply-erasures`).
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from hygie.keys import service
from hygie.keys.models import ErasureRegister, PatientKey


def _append_to_file(patient_pk: int, when: datetime) -> None:
    path = service.erasure_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"patient": patient_pk, "erased_at": when.isoformat()}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def destroy_key(patient_pk: int) -> None:
    """Crypto-shredding proper: the data key goes, and with it every ciphertext of the patient.
    Call inside the transaction that deletes the patient's rows (hygie.patients.actions)."""
    when = timezone.now()
    PatientKey.objects.filter(patient_id=patient_pk).delete()
    service.forget(patient_pk)
    # The latest date wins: after an old backup was restored, an id can come back for a new
    # patient (the sequence went back too), who may be erased in turn.
    ErasureRegister.objects.update_or_create(patient_ref=patient_pk, defaults={"erased_at": when})
    transaction.on_commit(lambda: _append_to_file(patient_pk, when))


def still_has_key(patient_pk: int) -> bool:
    return PatientKey.objects.filter(patient_id=patient_pk).exists()


def remember_erasure(patient_pk: int, when: str) -> None:
    erased_at = datetime.fromisoformat(when)
    row, created = ErasureRegister.objects.get_or_create(patient_ref=patient_pk, defaults={"erased_at": erased_at})
    if not created and row.erased_at < erased_at:
        row.erased_at = erased_at
        row.save(update_fields=["erased_at"])


def registered() -> dict[int, str]:
    """Erasures known to the file next to the key file and to the database."""
    found: dict[int, str] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in service.erasure_file().read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                doc = json.loads(line)
                ref, when = int(doc["patient"]), str(doc["erased_at"])
                if ref not in found or datetime.fromisoformat(found[ref]) < datetime.fromisoformat(when):
                    found[ref] = when
    for ref, erased_at in ErasureRegister.objects.values_list("patient_ref", "erased_at"):
        if ref not in found or datetime.fromisoformat(found[ref]) < erased_at:
            found[ref] = erased_at.isoformat()
    return found

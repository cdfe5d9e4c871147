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
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from hygie.keys import service
from hygie.keys.models import ErasureRegister, PatientKey


def _append_to_file(patient_pk: int, when: datetime, rule: str = "", expired_on: date | None = None) -> None:
    path = service.erasure_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    line: dict[str, object] = {"patient": patient_pk, "erased_at": when.isoformat()}
    if rule:
        # A retention purge: the rule that ran out and when (hygie.lib.retention).
        line.update(rule=rule, expired_on=None if expired_on is None else expired_on.isoformat())
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def destroy_key(patient_pk: int, *, rule: str = "", expired_on: date | None = None) -> None:
    """Crypto-shredding proper: the data key goes, and with it every ciphertext of the patient.
    Call inside the transaction that deletes the patient's rows (hygie.patients.actions).
    A retention purge gives the rule applied and the expiry; they go to the register."""
    when = timezone.now()
    PatientKey.objects.filter(patient_id=patient_pk).delete()
    service.forget(patient_pk)
    # The latest date wins: after an old backup was restored, an id can come back for a new
    # patient (the sequence went back too), who may be erased in turn.
    ErasureRegister.objects.update_or_create(
        patient_ref=patient_pk, defaults={"erased_at": when, "rule": rule, "expired_on": expired_on}
    )
    transaction.on_commit(lambda: _append_to_file(patient_pk, when, rule, expired_on))


def still_has_key(patient_pk: int) -> bool:
    return PatientKey.objects.filter(patient_id=patient_pk).exists()


def remember_erasure(patient_pk: int, when: str, *, rule: str = "", expired_on: date | None = None) -> None:
    erased_at = datetime.fromisoformat(when)
    row, created = ErasureRegister.objects.get_or_create(
        patient_ref=patient_pk, defaults={"erased_at": erased_at, "rule": rule, "expired_on": expired_on}
    )
    if not created and row.erased_at < erased_at:
        row.erased_at = erased_at
        row.rule, row.expired_on = rule, expired_on
        row.save(update_fields=["erased_at", "rule", "expired_on"])


def registered_rules() -> dict[int, tuple[str, date | None]]:
    """{patient id: (rule, expiry)} of the retention purges, from the file and the database:
    a restored database older than the purge learns the rule back from the file."""
    found: dict[int, tuple[str, date | None]] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in service.erasure_file().read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                doc = json.loads(line)
                if doc.get("rule"):
                    expired = doc.get("expired_on")
                    found[int(doc["patient"])] = (str(doc["rule"]), date.fromisoformat(expired) if expired else None)
    rows = ErasureRegister.objects.exclude(rule="").values_list("patient_ref", "rule", "expired_on")
    for ref, rule, expired_on in rows:
        found[ref] = (rule, expired_on)
    return found


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


def sync_file() -> int:
    """Append to the register file every erasure the database knows and the file does not.

    The file is written once the erasure's transaction has committed: a process killed between
    the commit and the write (kill -9 during a purge, a crash) leaves the database ahead of the
    file, and a restore of an older backup would then not erase that patient again. Run before
    each purge and each backup, and by the daily retention job. Returns how many were added."""
    in_file: dict[int, datetime] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in service.erasure_file().read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                doc = json.loads(line)
                ref, when = int(doc["patient"]), datetime.fromisoformat(str(doc["erased_at"]))
                if ref not in in_file or in_file[ref] < when:
                    in_file[ref] = when
    added = 0
    rows = ErasureRegister.objects.values_list("patient_ref", "erased_at", "rule", "expired_on").order_by("erased_at")
    for ref, erased_at, rule, expired_on in rows:
        if ref not in in_file or in_file[ref] < erased_at:
            _append_to_file(ref, erased_at, rule, expired_on)
            added += 1
    return added

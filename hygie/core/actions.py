"""Creating the practice, importing patients. Like every action, each writes its journal events
in its transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from hygie.access.policy import Role
from hygie.accounts.actions import ActionError, create_user
from hygie.accounts.models import User
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.keys import service
from hygie.patients.models import BlindIndex, CareTeamMember, Patient, new_patient_code
from hygie.practices.models import Practice
from hygie.retention import actions as retention_actions

# Commands run for no web user: the journal says so instead of naming an account.
CLI_ROLE = "cli"


@transaction.atomic
def create_practice(
    *,
    name: str,
    admin_username: str,
    admin_password: str,
    admin_first_name: str = "",
    admin_last_name: str = "",
    admin_email: str = "",
    is_demo: bool = False,
    actor: Any = None,
) -> tuple[Practice, User]:
    """The practice of this installation and its first administrator.

    The owner typed the password themself: no change is forced at first login.
    """
    name = name.strip()
    if not name:
        raise ActionError("Le nom du cabinet est obligatoire.")
    if Practice.objects.exists():
        raise ActionError("Un cabinet existe déjà dans ce répertoire de données.")
    practice = Practice.objects.create(name=name, is_demo=is_demo)
    journal.record(
        Ev.PRACTICE_CREATED,
        actor=actor,
        target=practice,
        details={"is_demo": is_demo},
        actor_role=None if actor else CLI_ROLE,
    )
    admin = create_user(
        actor=actor,
        username=admin_username,
        role=Role.ADMIN,
        password=admin_password,
        first_name=admin_first_name,
        last_name=admin_last_name,
        email=admin_email,
        must_change_password=False,
    )
    return practice, admin


# --- Importing patients (hygie.core.importer) ----------------------------------------------


@dataclass
class PreparedPatient:
    """One row of an import, made ready outside the write transaction: the unsaved patient with
    its identity fingerprint, and the values of its blind indexes (hygie.patients.indexes)."""

    line: int
    patient: Patient
    blind: list[tuple[str, int]]


@dataclass
class BatchOutcome:
    """(line, patient code) of each row imported, and of each row skipped with the code of the
    patient already in the patientèle."""

    imported: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


# SQLite's default limit of bound parameters is 999.
_IN_CHUNK = 500


@transaction.atomic
def import_patient_batch(
    *, practitioner: User, prepared: list[PreparedPatient], import_id: str, batch: int
) -> BatchOutcome:
    """Write one batch of an import in one short transaction: the patients whose identity the
    practitioner's patientèle does not hold yet, with their data keys, care team, blind indexes
    and one creation event each, and one import event for the batch (counts and line numbers
    only). The bulk twin of hygie.patients.actions.create_patient, for rows already checked.

    Everything that does not need the database (validation, fingerprints, blind-index values)
    was done by the caller: on SQLite this transaction holds the only write lock, and every
    page waits while it runs.
    """
    outcome = BatchOutcome()
    # Checked inside the transaction: a patient created meanwhile (web, another import) is
    # skipped, not duplicated, and a re-run after a crash skips what earlier batches wrote.
    present: dict[str, str] = {}
    fingerprints = [p.patient.identity_fingerprint for p in prepared]
    for start in range(0, len(fingerprints), _IN_CHUNK):
        present.update(
            Patient.objects.filter(
                identity_fingerprint__in=fingerprints[start : start + _IN_CHUNK], care_team__practitioner=practitioner
            ).values_list("identity_fingerprint", "code")
        )
    new = []
    for item in prepared:
        code = present.get(item.patient.identity_fingerprint)
        if code is not None:
            outcome.skipped.append((item.line, code))
        else:
            new.append(item)
    _unique_codes([item.patient for item in new])

    patients = Patient.objects.bulk_create([item.patient for item in new])
    service.save_new_keys(patients)
    CareTeamMember.objects.bulk_create(
        [CareTeamMember(patient_id=p.pk, practitioner=practitioner) for p in patients]
    )
    # Raw inserts: ~45 index rows a patient, where building model objects would cost more than
    # encrypting the patient (bench/bench_import.py).
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {BlindIndex._meta.db_table} (patient_id, kind, value) VALUES (%s, %s, %s)",  # noqa: S608
            [(item.patient.pk, kind, value) for item in new for kind, value in item.blind],
        )
    for item in new:
        journal.record(Ev.PATIENT_CREATED, target=item.patient, actor_role=CLI_ROLE)
        outcome.imported.append((item.line, item.patient.code))
    # Retention (docs/retention.md): a record migrated with an old last consultation or a death
    # date goes straight to the intermediate archive, and is due at once if its time has run out.
    retention_actions.refresh([p for p in patients if p.declared_last_visit or p.death_date])
    journal.record(
        Ev.PATIENTS_IMPORTED,
        target=practitioner,
        actor_role=CLI_ROLE,
        details={
            "import": import_id,
            "batch": batch,
            "first_line": prepared[0].line if prepared else 0,
            "last_line": prepared[-1].line if prepared else 0,
            "rows": len(prepared),
            "imported": len(outcome.imported),
            "already_present": len(outcome.skipped),
        },
    )
    return outcome


def _unique_codes(patients: list[Patient]) -> None:
    """Draw again the pseudonymous codes that collide: with 32^8 codes, two among 500,000
    imported patients share one about once in ten imports."""
    while True:
        codes = [p.code for p in patients]
        taken: set[str] = set()
        for start in range(0, len(codes), _IN_CHUNK):
            chunk = codes[start : start + _IN_CHUNK]
            taken.update(Patient.objects.filter(code__in=chunk).values_list("code", flat=True))
        seen: set[str] = set()
        again = False
        for p in patients:
            if p.code in taken or p.code in seen:
                p.code = new_patient_code()
                again = True
            seen.add(p.code)
        if not again:
            return

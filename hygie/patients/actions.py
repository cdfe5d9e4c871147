"""Every change to patient records. Each action writes its journal event in its transaction.

Callers (views, commands) have already fetched the patient through hygie.access.records;
the actions check again what only they can know (e.g. who may join a care team).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from hygie.access.policy import Role
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.patients.identity import identity_fingerprint
from hygie.patients.models import CareTeamMember, Patient

IDENTITY_FIELDS = (
    "birth_name",
    "usage_name",
    "first_names",
    "birth_date",
    "sex",
    "ins",
    "phone",
    "email",
    "address",
    "death_date",
)


class ActionError(Exception):
    """A refused action. The message is French and names no patient."""


def _owner_for(actor: Any, practitioner: Any) -> Any:
    """The titulaire whose patientèle a new patient joins."""
    if practitioner is None or practitioner.role != Role.TITULAIRE or not practitioner.is_active:
        raise ActionError("Un nouveau patient doit être rattaché à un praticien titulaire actif.")
    return practitioner


def find_duplicate(practitioner: Any, birth_name: str, first_names: str, birth_date: date) -> Patient | None:
    """The patient of this practitioner's patientèle with the same identity, if any."""
    fp = identity_fingerprint(birth_name, first_names, birth_date)
    return (
        Patient.objects.filter(identity_fingerprint=fp, care_team__practitioner=practitioner).first()
    )


@transaction.atomic
def create_patient(*, actor: Any, practitioner: Any, data: dict[str, Any], journal_event: bool = True) -> Patient:
    """Create a patient in `practitioner`'s patientèle. `data` holds IDENTITY_FIELDS and
    optionally `history` (antécédents)."""
    owner = _owner_for(actor, practitioner)
    fields = {k: data[k] for k in (*IDENTITY_FIELDS, "history") if k in data and data[k] is not None}
    patient = Patient(**fields)
    patient.identity_fingerprint = identity_fingerprint(patient.birth_name, patient.first_names, patient.birth_date)
    patient.full_clean(exclude=["identity_fingerprint", "code"])
    patient.save()
    CareTeamMember.objects.create(patient=patient, practitioner=owner)
    if journal_event:
        journal.record(Ev.PATIENT_CREATED, actor=actor, target=patient)
    return patient


@transaction.atomic
def update_identity(*, actor: Any, patient: Patient, data: dict[str, Any]) -> list[str]:
    """Change identity and contact fields. Returns the names of the fields changed (journaled,
    without their values)."""
    changed = []
    for name in IDENTITY_FIELDS:
        if name in data and getattr(patient, name) != data[name]:
            setattr(patient, name, data[name] if data[name] is not None or name in ("birth_date",) else "")
            changed.append(name)
    if not changed:
        return []
    patient.identity_fingerprint = identity_fingerprint(patient.birth_name, patient.first_names, patient.birth_date)
    patient.full_clean(exclude=["identity_fingerprint", "code"])
    patient.save()
    journal.record(Ev.PATIENT_UPDATED, actor=actor, target=patient, details={"fields": changed})
    return changed


@transaction.atomic
def update_history(*, actor: Any, patient: Patient, history: str) -> None:
    if patient.history == history:
        return
    patient.history = history
    patient.save(update_fields=["history", "updated_at"])
    journal.record(Ev.HISTORY_UPDATED, actor=actor, target=patient)


@transaction.atomic
def add_to_care_team(*, actor: Any, patient: Patient, practitioner: Any) -> None:
    if practitioner.role != Role.TITULAIRE or not practitioner.is_active:
        raise ActionError("Seul un praticien titulaire actif peut rejoindre l'équipe de soins.")
    _, created = CareTeamMember.objects.get_or_create(patient=patient, practitioner=practitioner)
    if created:
        journal.record(Ev.CARE_TEAM_ADDED, actor=actor, target=patient, details={"practitioner": practitioner.pk})


@transaction.atomic
def remove_from_care_team(*, actor: Any, patient: Patient, practitioner: Any) -> None:
    members = CareTeamMember.objects.filter(patient=patient)
    if not members.filter(practitioner=practitioner).exists():
        return
    if members.count() == 1:
        raise ActionError("Le patient doit garder au moins un praticien dans son équipe de soins.")
    members.filter(practitioner=practitioner).delete()
    journal.record(Ev.CARE_TEAM_REMOVED, actor=actor, target=patient, details={"practitioner": practitioner.pk})

"""Every change to the agenda. Each action writes its journal event in its transaction.

Callers have fetched the appointment (or checked the capability) through hygie.access.records;
the actions check again what only they can know: that the practitioner follows the patient,
and that the slot is free.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.access import records
from hygie.access.policy import Role
from hygie.agenda.models import Appointment
from hygie.audit import journal
from hygie.audit.events import Ev

MIN_DURATION = 5
MAX_DURATION = 240
EDITABLE_FIELDS = ("practitioner", "patient", "start", "duration_minutes", "reason")


class ActionError(Exception):
    """A refused action. The message is French and names no patient."""


def _check(actor: Any, practitioner: Any, patient: Any, duration: int) -> None:
    if practitioner is None or practitioner.role != Role.TITULAIRE or not practitioner.is_active:
        raise ActionError(_("Un rendez-vous se prend avec un praticien titulaire actif."))
    if practitioner.pk not in records.practitioner_scope(actor):
        raise ActionError(_("Vous ne gérez pas l'agenda de ce praticien."))
    # The patient must already be in this practitioner's patientèle: booking must not show a
    # patient to a practitioner (and their staff) who does not follow them.
    if not patient.care_team.filter(practitioner=practitioner).exists():
        raise ActionError(_("Ce patient n'est pas suivi par ce praticien : choisissez un patient de sa patientèle."))
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise ActionError(_("La durée doit être comprise entre 5 et 240 minutes."))


def _check_free(practitioner: Any, start: datetime, duration: int, exclude: Appointment | None = None) -> None:
    """Refuse a slot that overlaps another appointment of the same practitioner."""
    # Serialise bookings per practitioner (PostgreSQL; SQLite already has one writer at a time),
    # so two people booking the same slot at once cannot both succeed.
    type(practitioner).objects.select_for_update().filter(pk=practitioner.pk).first()
    end = start + timedelta(minutes=duration)
    # Only `start` is indexed (and stored in clear): fetch the ones that may reach our slot.
    candidates = Appointment.objects.filter(
        practitioner=practitioner, start__lt=end, start__gt=start - timedelta(minutes=MAX_DURATION)
    )
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude.pk)
    for other in candidates:
        if other.start + timedelta(minutes=other.duration_minutes) > start:
            raise ActionError(
                _("Ce créneau chevauche un autre rendez-vous du même praticien (%(start)s–%(end)s).")
                % {
                    "start": timezone.localtime(other.start).strftime("%H:%M"),
                    "end": timezone.localtime(other.start + timedelta(minutes=other.duration_minutes)).strftime(
                        "%H:%M"
                    ),
                }
            )


@transaction.atomic
def create_appointment(
    *, actor: Any, practitioner: Any, patient: Any, start: datetime, duration_minutes: int, reason: str = ""
) -> Appointment:
    _check(actor, practitioner, patient, duration_minutes)
    _check_free(practitioner, start, duration_minutes)
    appt = Appointment(
        practitioner=practitioner,
        patient=patient,
        start=start,
        duration_minutes=duration_minutes,
        reason=reason.strip(),
    )
    appt.full_clean()
    appt.save()
    journal.record(Ev.APPOINTMENT_CREATED, actor=actor, target=appt, details={"practitioner": practitioner.pk})
    return appt


@transaction.atomic
def update_appointment(*, actor: Any, appointment: Appointment, data: dict[str, Any]) -> list[str]:
    """Change the fields of `data` (among EDITABLE_FIELDS). Returns the names of the fields
    changed (journaled, without their values)."""
    if "reason" in data:
        data = {**data, "reason": (data["reason"] or "").strip()}
    new = {name: data[name] if name in data else getattr(appointment, name) for name in EDITABLE_FIELDS}
    changed = [name for name in EDITABLE_FIELDS if getattr(appointment, name) != new[name]]
    if not changed:
        return []
    # Check before touching the instance: a refused change leaves it as it was.
    _check(actor, new["practitioner"], new["patient"], new["duration_minutes"])
    if {"practitioner", "start", "duration_minutes"} & set(changed):
        _check_free(new["practitioner"], new["start"], new["duration_minutes"], exclude=appointment)
    for name in changed:
        setattr(appointment, name, new[name])
    appointment.full_clean()
    appointment.save()
    journal.record(Ev.APPOINTMENT_UPDATED, actor=actor, target=appointment, details={"fields": changed})
    return changed


@transaction.atomic
def cancel_appointment(*, actor: Any, appointment: Appointment) -> None:
    """Delete the appointment. The journal keeps its ids only: RET-6, nothing kept that is not needed."""
    journal.record(
        Ev.APPOINTMENT_CANCELLED, actor=actor, target=appointment, details={"practitioner": appointment.practitioner_id}
    )
    appointment.delete()


@transaction.atomic
def clear_past_reasons(*, now: datetime | None = None) -> int:
    """RET-6: the reason of an appointment is not needed once it has passed. For the retention
    job; returns how many reasons were erased."""
    now = now or timezone.now()
    count = 0
    # The reason is filtered here, not in SQL: it is a medical field, encrypted at rest.
    for appt in Appointment.objects.filter(start__lt=now):
        if not appt.reason or appt.start + timedelta(minutes=appt.duration_minutes) > now:
            continue
        appt.reason = ""
        appt.save(update_fields=["reason"])
        journal.record(
            Ev.APPOINTMENT_UPDATED, actor=None, target=appt, details={"fields": ["reason"], "retention": True}
        )
        count += 1
    return count

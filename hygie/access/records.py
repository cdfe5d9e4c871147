"""Fetch protected objects for a user. The only door to patient data.

- `patient_scope(user)`: the patients a user may reach at all.
- `get_patient(user, public_id, cap)`: one patient, or 404 (outside scope) / 403 (role lacks cap).
- the same for consultations, documents, appointments and care sheets.

Views and commands call these; a test fails if anything else in `hygie/` queries the
patient models directly.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from hygie.access.policy import Cap, Role, role_can
from hygie.agenda.models import Appointment
from hygie.billing.models import CareSheet
from hygie.patients.models import BreakGlassAccess, Consultation, Document, Patient

if TYPE_CHECKING:
    from hygie.accounts.models import User
    from hygie.patients.models import CareTeamMember


def _active(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def practitioner_scope(user: Any, when: datetime | None = None) -> list[int]:
    """Ids of the titulaires whose patientèle this user works on, right now."""
    if not _active(user):
        return []
    when = when or timezone.now()
    if user.role == Role.TITULAIRE:
        return [user.pk]
    if user.role == Role.REMPLACANT:
        return list(
            user.replacements.filter(starts_at__lte=when, ends_at__gt=when, titulaire__is_active=True)
            .values_list("titulaire_id", flat=True)
        )
    if user.role in (Role.SECRETAIRE, Role.FACTURATION):
        return list(user.assists.filter(is_active=True, role=Role.TITULAIRE).values_list("pk", flat=True))
    return []


def patient_scope(user: Any) -> QuerySet[Patient]:
    """Patients of the care teams the user works for, plus live break-the-glass accesses."""
    practitioners = practitioner_scope(user)
    granted: list[int] = []
    if _active(user) and role_can(user.role, Cap.BREAK_GLASS):
        granted = list(_break_glass_patients(user).values_list("patient_id", flat=True))
    if not practitioners and not granted:
        return Patient.objects.none()
    if not granted and len(practitioners) == 1:
        # The common case, as a plain join: one care-team row per (patient, practitioner).
        return Patient.objects.filter(care_team__practitioner_id=practitioners[0])
    condition = Q(pk__in=_care_team_patients(practitioners)) | Q(pk__in=granted)
    return Patient.objects.filter(condition)


def _care_team_patients(practitioners: list[int]) -> QuerySet[CareTeamMember, Any]:
    from hygie.patients.models import CareTeamMember

    return CareTeamMember.objects.filter(practitioner_id__in=practitioners).values("patient_id")


def _break_glass_patients(user: Any) -> QuerySet[BreakGlassAccess, Any]:
    return BreakGlassAccess.objects.filter(user=user, expires_at__gt=timezone.now()).values("patient_id")


def require(user: Any, cap: Cap) -> None:
    """For pages that are not about one patient: 403 unless the role has the capability."""
    if not _active(user) or not role_can(user.role, cap):
        raise PermissionDenied


def can(user: Any, cap: Cap) -> bool:
    return _active(user) and role_can(user.role, cap)


def _parse(public_id: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(public_id))
    except (ValueError, TypeError):
        raise Http404 from None


def get_patient(user: Any, public_id: Any, cap: Cap) -> Patient:
    patient = patient_scope(user).filter(public_id=_parse(public_id)).first()
    if patient is None:
        raise Http404
    if not role_can(user.role, cap):
        raise PermissionDenied
    return patient


def is_break_glass(user: Any, patient: Patient) -> bool:
    """True when the user reaches this patient only through a break-the-glass access."""
    practitioners = practitioner_scope(user)
    return not patient.care_team.filter(practitioner_id__in=practitioners).exists()


def find_patient_outside_scope(user: Any, public_id: Any) -> Patient | None:
    """For the break-the-glass page only: a practice patient this titulaire may open with a reason."""
    if not can(user, Cap.BREAK_GLASS):
        return None
    return Patient.objects.filter(public_id=_parse(public_id)).first()


def break_glass_candidates(user: Any) -> QuerySet[Patient]:
    """Patients of the practice a titulaire may search before opening one with a reason."""
    if not can(user, Cap.BREAK_GLASS):
        return Patient.objects.none()
    return Patient.objects.all()


def restore_test_documents(limit: int) -> list[Document]:
    """No user: the restore test (hygie.backups.restore.check_restored), inside the scratch copy
    it has just restored, decrypts these to prove the documents open. Nobody sees their content."""
    return list(Document.objects.select_related("patient").order_by("?")[:limit])


_Child = TypeVar("_Child", Consultation, Document)


def _child(user: Any, model: type[_Child], public_id: Any, cap: Cap) -> _Child:
    obj = model.objects.select_related("patient").filter(public_id=_parse(public_id)).first()
    if obj is None or not patient_scope(user).filter(pk=obj.patient_id).exists():
        raise Http404
    if not role_can(user.role, cap):
        raise PermissionDenied
    return obj


def get_consultation(user: Any, public_id: Any, cap: Cap = Cap.MEDICAL_VIEW) -> Consultation:
    return _child(user, Consultation, public_id, cap)


def get_document(user: Any, public_id: Any, cap: Cap = Cap.MEDICAL_VIEW) -> Document:
    return _child(user, Document, public_id, cap)


def consultations_of(user: Any, patient: Patient) -> QuerySet[Consultation]:
    get_patient(user, patient.public_id, Cap.MEDICAL_VIEW)
    return patient.consultations.select_related("practitioner")


def documents_of(user: Any, patient: Patient) -> QuerySet[Document]:
    get_patient(user, patient.public_id, Cap.MEDICAL_VIEW)
    return patient.documents.select_related("uploaded_by")


# --- Agenda ------------------------------------------------------------------------------

def agenda_scope(user: Any) -> QuerySet[Appointment]:
    """Appointments of the practitioners the user works for (not break-the-glass patients)."""
    if not can(user, Cap.AGENDA_VIEW):
        return Appointment.objects.none()
    practitioners = practitioner_scope(user)
    return Appointment.objects.filter(practitioner_id__in=practitioners).select_related("patient", "practitioner")


def get_appointment(user: Any, public_id: Any, cap: Cap = Cap.AGENDA_VIEW) -> Appointment:
    appt = Appointment.objects.filter(public_id=_parse(public_id)).first()
    if appt is None or appt.practitioner_id not in practitioner_scope(user):
        raise Http404
    if not role_can(user.role, cap):
        raise PermissionDenied
    return appt


def agenda_practitioners(user: Any) -> QuerySet[User]:
    from hygie.accounts.models import User

    return User.objects.filter(pk__in=practitioner_scope(user))


# --- Billing -----------------------------------------------------------------------------

def billing_scope(user: Any) -> QuerySet[CareSheet]:
    if not can(user, Cap.BILLING_VIEW):
        return CareSheet.objects.none()
    return CareSheet.objects.filter(practitioner_id__in=practitioner_scope(user)).select_related(
        "patient", "practitioner"
    )


def get_care_sheet(user: Any, public_id: Any, cap: Cap = Cap.BILLING_VIEW) -> CareSheet:
    sheet = CareSheet.objects.filter(public_id=_parse(public_id)).first()
    if sheet is None or sheet.practitioner_id not in practitioner_scope(user):
        raise Http404
    if not role_can(user.role, cap):
        raise PermissionDenied
    return sheet


def billing_patient_label(user: Any, patient: Patient) -> str:
    """What the billing screens show for a patient: a name only to those allowed to see it."""
    if can(user, Cap.BILLING_SEES_NAMES):
        return patient.display_name
    return patient.code


def billing_patients(user: Any) -> QuerySet[Patient]:
    """Patients a care sheet may be written for."""
    if not can(user, Cap.BILLING_EDIT):
        return Patient.objects.none()
    return Patient.objects.filter(pk__in=_care_team_patients(practitioner_scope(user)))


# --- Journal -----------------------------------------------------------------------------
# The referent and the administrator see patients in the journal under their pseudonymous code
# only: never a name, never medical content.

def journal_patient_id(user: Any, code: str) -> int | None:
    """The internal id behind a patient code, to filter the journal; None if there is none."""
    require(user, Cap.JOURNAL_VIEW)
    return Patient.objects.filter(code=code.strip().upper()).values_list("pk", flat=True).first()


def break_glass_reasons(user: Any, access_ids: Any) -> dict[str, str]:
    """{access public id: reason} of break-the-glass accesses, for those who review them
    (journal viewers). The journal itself only points to the access row."""
    require(user, Cap.JOURNAL_VIEW)
    wanted = [_parse(a) for a in access_ids if a]
    return {str(a.public_id): a.reason for a in BreakGlassAccess.objects.filter(public_id__in=wanted)}


def journal_patient_codes(user: Any, ids: Any) -> dict[int, str]:
    """{internal id: code} for the patients named by journal rows (erased patients are absent)."""
    require(user, Cap.JOURNAL_VIEW)
    return dict(Patient.objects.filter(pk__in=[i for i in ids if i is not None]).values_list("pk", "code"))

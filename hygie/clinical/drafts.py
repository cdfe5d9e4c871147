"""The consultation form's side of drafts: resume one when the form opens, drop it once the
consultation is saved (in the same transaction as the save)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest

from hygie.clinical import actions
from hygie.clinical.models import ConsultationDraft
from hygie.patients.models import Consultation, Patient


def resume(request: HttpRequest, patient: Patient, consultation: Consultation | None) -> tuple[Any, dict[str, str]]:
    """(draft, its fields) for the user's draft of this form, on a GET; (None, {}) otherwise."""
    if request.method != "GET":
        return None, {}
    draft = ConsultationDraft.objects.filter(author=request.user, patient=patient, consultation=consultation).first()
    if draft is None:
        return None, {}
    return draft, actions.resume_draft(actor=request.user, draft=draft)


def served(user: Any, patient: Patient, consultation: Consultation | None) -> None:
    actions.discard_drafts_after_save(actor=user, patient=patient, consultation=consultation)


# --- The record page's draft lines ---------------------------------------------------------
# Read with what the page fetches anyway: the patient row (a new consultation's draft) and the
# consultations (the drafts of their edits), as correlated subqueries: no query of their own.

_NEW = "hygie_my_new_draft_at"
_EDIT = "hygie_my_draft_at"


class DraftLine(NamedTuple):
    consultation: Consultation | None  # None: a new consultation
    updated_at: datetime


def _latest(drafts: Any) -> Subquery:
    return Subquery(drafts.order_by("-updated_at").values("updated_at")[:1])


def read_with_patient(reader: Any) -> dict[str, Any]:
    """For `records.get_patient(also=…)` (a records.Reader): when this user's draft of a new
    consultation was saved."""
    mine = ConsultationDraft.objects.filter(
        author_id=reader.user_pk, patient_id=OuterRef("pk"), consultation__isnull=True
    )
    return {_NEW: _latest(mine)}


def read_with_consultations(reader: Any) -> dict[str, Any]:
    """For `records.consultations_of(also=…)` (a records.Reader): when this user's draft of each
    consultation's edit was saved."""
    return {_EDIT: _latest(ConsultationDraft.objects.filter(author_id=reader.user_pk, consultation_id=OuterRef("pk")))}


def lines(user: Any, patient: Patient, consultations: list[Any]) -> list[DraftLine]:
    """This user's drafts on the record, newest first: from the annotations above when the page
    read them, otherwise in one query."""
    if _NEW not in patient.__dict__ or any(_EDIT not in c.__dict__ for c in consultations):
        return [
            DraftLine(d.consultation, d.updated_at)
            for d in ConsultationDraft.objects.filter(author=user, patient=patient).select_related("consultation")
        ]
    found = [DraftLine(c, c.__dict__[_EDIT]) for c in consultations if c.__dict__[_EDIT] is not None]
    if patient.__dict__[_NEW] is not None:
        found.append(DraftLine(None, patient.__dict__[_NEW]))
    return sorted(found, key=lambda d: d.updated_at, reverse=True)

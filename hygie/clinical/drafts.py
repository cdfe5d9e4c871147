"""The consultation form's side of drafts: resume one when the form opens, drop it once the
consultation is saved (in the same transaction as the save)."""

from __future__ import annotations

from typing import Any

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

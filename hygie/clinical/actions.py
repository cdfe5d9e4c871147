"""Every change to the structured record: each writes its journal event in its transaction.

Callers have fetched the patient (or the consultation, the document) through hygie.access.records;
the journal holds ids and counts, never a label, a draft or a letter's text.
"""

from __future__ import annotations

import io
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from hygie.access.policy import Cap, role_can
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.clinical.models import ConsultationDraft, ItemKind, LetterTemplate, RecordItem, TemplateKind
from hygie.patients import actions as patient_actions
from hygie.patients.models import Consultation, Document, DocumentKind, Patient

# The form fields a draft keeps (hygie.patients.forms.ConsultationForm); anything else is dropped.
DRAFT_FIELDS = (
    "date", "motif", "observations", "examination", "conclusion", "plan",
    "weight_kg", "height_cm", "systolic", "diastolic", "pulse", "temperature",
)
DRAFT_MAX_CHARS = 200_000


class ActionError(Exception):
    """A refused action. The message is French and names no patient."""


def _require_writer(actor: Any) -> None:
    if actor is None or not actor.is_active or not role_can(actor.role, Cap.MEDICAL_EDIT):
        raise ActionError("Seul un praticien peut modifier le dossier médical.")


# --- Allergies, treatments, alerts --------------------------------------------------------

@transaction.atomic
def add_item(*, actor: Any, patient: Patient, kind: str, label: str, detail: str = "") -> RecordItem:
    _require_writer(actor)
    if kind not in ItemKind.values:
        raise ActionError("Type d'élément inconnu.")
    label, detail = " ".join(label.split()), " ".join(detail.split())
    if not label:
        raise ActionError("Indiquez l'intitulé.")
    item = RecordItem(patient=patient, kind=kind, label=label, detail=detail, author=actor)
    item.full_clean()
    item.save()
    journal.record(Ev.RECORD_ITEM_ADDED, actor=actor, target=item, details={"kind": kind})
    return item


@transaction.atomic
def end_item(*, actor: Any, item: RecordItem) -> bool:
    """Stop an item (treatment ended, allergy ruled out). Returns False if it already was."""
    _require_writer(actor)
    if item.ended_at is not None:
        return False
    item.ended_at = timezone.now()
    item.ended_by = actor
    item.save(update_fields=["ended_at", "ended_by"])
    journal.record(Ev.RECORD_ITEM_ENDED, actor=actor, target=item, details={"kind": item.kind})
    return True


# --- Drafts -------------------------------------------------------------------------------

def _draft_for(actor: Any, patient: Patient, consultation: Consultation | None) -> ConsultationDraft | None:
    return (
        ConsultationDraft.objects.select_for_update()
        .filter(author=actor, patient=patient, consultation=consultation)
        .first()
    )


@transaction.atomic
def save_draft(
    *, actor: Any, patient: Patient, consultation: Consultation | None, data: dict[str, Any]
) -> ConsultationDraft:
    """Keep what the practitioner has typed so far. The content is the form's raw fields (even
    invalid: a half-typed date is still a draft), encrypted with the patient's key."""
    _require_writer(actor)
    if consultation is not None and consultation.patient_id != patient.pk:
        raise ActionError("Ce brouillon ne correspond pas à ce dossier.")
    content = {name: str(data.get(name, ""))[:20_000] for name in DRAFT_FIELDS}
    text = json.dumps(content, ensure_ascii=False)
    if len(text) > DRAFT_MAX_CHARS:
        raise ActionError("Brouillon trop long.")
    draft = _draft_for(actor, patient, consultation)
    if draft is None:
        draft = ConsultationDraft(author=actor, patient=patient, consultation=consultation, content=text)
        draft.save()
    elif draft.content != text:
        draft.content = text
        draft.save(update_fields=["content", "updated_at"])
    else:
        return draft  # nothing typed since the last save: no new event
    journal.record(Ev.DRAFT_SAVED, actor=actor, target=draft, details={"draft": str(draft.public_id)})
    return draft


def draft_content(draft: ConsultationDraft) -> dict[str, str]:
    try:
        data = json.loads(draft.content)
    except ValueError:
        return {}
    return {k: str(v) for k, v in data.items() if k in DRAFT_FIELDS} if isinstance(data, dict) else {}


def resume_draft(*, actor: Any, draft: ConsultationDraft) -> dict[str, str]:
    """The draft's fields, to fill the form again; reading medical text is journaled."""
    journal.record(Ev.DRAFT_RESUMED, actor=actor, target=draft, details={"draft": str(draft.public_id)})
    return draft_content(draft)


@transaction.atomic
def discard_draft(*, actor: Any, draft: ConsultationDraft, saved: bool = False) -> None:
    """Remove a draft: abandoned by its author, or used (`saved`: the consultation was saved)."""
    if draft.author_id != getattr(actor, "pk", None):
        raise ActionError("Seul l'auteur d'un brouillon peut l'abandonner.")
    details = {"draft": str(draft.public_id), "saved": saved}
    journal.record(Ev.DRAFT_DISCARDED, actor=actor, target=draft.patient, details=details)
    draft.delete()


def discard_drafts_after_save(*, actor: Any, patient: Patient, consultation: Consultation | None) -> None:
    """Called in the transaction that saves the consultation: its draft has served."""
    draft = _draft_for(actor, patient, consultation)
    if draft is not None:
        discard_draft(actor=actor, draft=draft, saved=True)


# --- Letter templates and letters ---------------------------------------------------------

@transaction.atomic
def save_template(*, actor: Any, template: LetterTemplate | None, kind: str, title: str, body: str) -> LetterTemplate:
    _require_writer(actor)
    if kind not in TemplateKind.values:
        raise ActionError("Type de modèle inconnu.")
    if template is None:
        template = LetterTemplate(owner=actor)
    elif template.owner_id != actor.pk:
        raise ActionError("Ce modèle appartient à un autre praticien.")
    template.kind, template.title, template.body = kind, title.strip(), body.strip()
    template.full_clean()
    template.save()
    journal.record(Ev.LETTER_TEMPLATE_SAVED, actor=actor, target=template)
    return template


@transaction.atomic
def delete_template(*, actor: Any, template: LetterTemplate) -> None:
    if template.owner_id != getattr(actor, "pk", None):
        raise ActionError("Ce modèle appartient à un autre praticien.")
    journal.record(Ev.LETTER_TEMPLATE_DELETED, actor=actor, target=template)
    template.delete()


def create_letter(*, actor: Any, patient: Patient, kind: str, title: str, body: str) -> Document:
    """Render the letter (already filled for this patient, perhaps edited) to PDF and file it in the
    record as an encrypted document, with both events in one transaction."""
    from hygie.clinical import letters

    _require_writer(actor)
    if kind not in TemplateKind.values:
        raise ActionError("Type de courrier inconnu.")
    title, body = " ".join(title.split()), body.strip()
    if not title or not body:
        raise ActionError("Le courrier doit avoir un titre et un texte.")
    pdf = letters.render_pdf(author=actor, title=title, body=body, when=timezone.localdate())
    document_kind = DocumentKind.CERTIFICATE if kind == TemplateKind.CERTIFICATE else DocumentKind.LETTER
    with transaction.atomic():
        document = patient_actions.upload_document(
            actor=actor, patient=patient, title=title, kind=document_kind, fileobj=io.BytesIO(pdf)
        )
        journal.record(Ev.LETTER_CREATED, actor=actor, target=document, details={"kind": kind})
    return document


def record_document_view(*, actor: Any, document: Document) -> None:
    """Opening a document in the browser is journaled like a download."""
    journal.record(Ev.DOCUMENT_VIEWED, actor=actor, target=document)

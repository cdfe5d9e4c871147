"""Pages of the structured record. Thin: fetch through hygie.access.records, change through
hygie.clinical.actions. URLs carry random UUIDs only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.clinical import actions, forms, letters
from hygie.clinical.models import ConsultationDraft, LetterTemplate, RecordItem, TemplateKind
from hygie.clinical.record import VIEWABLE
from hygie.patients import documents
from hygie.patients.models import Consultation, Patient
from hygie.web.forms import show_refusal

# The document is a page of its own in an opaque origin: no script of it (or of a crafted file)
# can reach Hygie's pages, cookies or forms; it loads nothing but itself.
DOCUMENT_CSP = "sandbox; default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'none'"


def _is_fetch(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


# --- Allergies, treatments, alerts --------------------------------------------------------

@login_required
@require_POST
def item_add(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient(user, public_id, Cap.MEDICAL_EDIT)
    form = forms.ItemForm(request.POST)
    if form.is_valid():
        try:
            actions.add_item(actor=user, patient=patient, **form.cleaned_data)
        except (actions.ActionError, ValidationError) as exc:
            messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, _("Ajouté au dossier."))
    else:
        for errors in form.errors.values():
            for msg in errors:
                messages.error(request, msg)
    return redirect(reverse("patient_detail", args=[patient.public_id]) + "#synthese")


@login_required
@require_POST
def item_end(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    item = RecordItem.objects.filter(public_id=public_id).select_related("patient").first()
    if item is None:
        raise Http404
    # The item's patient, through the access module: out of reach is a 404 like any record.
    patient = records.get_patient(user, item.patient.public_id, Cap.MEDICAL_EDIT)
    actions.end_item(actor=user, item=item)
    messages.success(request, _("Retiré des éléments en cours (il reste dans l'historique du dossier)."))
    return redirect(reverse("patient_detail", args=[patient.public_id]) + "#synthese")


# --- Documents opened in the browser ------------------------------------------------------

@login_required
@require_GET
def document_view(request: HttpRequest, public_id: Any) -> FileResponse:
    user = request.user
    document = records.get_document(user, public_id, Cap.MEDICAL_VIEW)
    if document.content_type not in VIEWABLE:
        raise Http404
    try:
        blob = documents.open_blob(document.storage_name, patient=document.patient)
    except FileNotFoundError:
        raise Http404 from None
    actions.record_document_view(actor=user, document=document)
    # A neutral name, as for downloads: never the title or the patient's name.
    filename = f"document-{document.public_id.hex[:8]}{documents.extension(document.content_type)}"
    response = FileResponse(blob, as_attachment=False, filename=filename, content_type=document.content_type)
    response["Content-Length"] = str(document.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOCUMENT_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


# --- Drafts -------------------------------------------------------------------------------

def _save_draft(request: HttpRequest, patient: Patient, consultation: Consultation | None,
                back: str) -> HttpResponse:
    try:
        draft = actions.save_draft(actor=request.user, patient=patient, consultation=consultation,
                                   data=request.POST.dict())
    except actions.ActionError as exc:
        if _is_fetch(request):
            return JsonResponse({"saved": False, "error": str(exc)}, status=400)
        messages.error(request, str(exc))
        return redirect(back)
    when = timezone.localtime(draft.updated_at).strftime("%H:%M")
    if _is_fetch(request):
        return JsonResponse({"saved": True, "at": when})
    messages.success(request, _("Brouillon enregistré à %(at)s. Il sera repris à votre retour sur ce formulaire.")
                     % {"at": when})
    return redirect(back)


@login_required
@require_POST
def draft_new(request: HttpRequest, public_id: Any) -> HttpResponse:
    patient = records.get_patient(request.user, public_id, Cap.MEDICAL_EDIT)
    return _save_draft(request, patient, None, reverse("consultation_create", args=[patient.public_id]))


@login_required
@require_POST
def draft_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    consultation = records.get_consultation(request.user, public_id, Cap.MEDICAL_EDIT)
    return _save_draft(request, consultation.patient, consultation,
                       reverse("consultation_edit", args=[consultation.public_id]))


@login_required
@require_POST
def draft_discard(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    draft = ConsultationDraft.objects.filter(public_id=public_id, author=user).select_related(
        "patient", "consultation").first()
    if draft is None:
        raise Http404
    patient = records.get_patient(user, draft.patient.public_id, Cap.MEDICAL_EDIT)
    consultation = draft.consultation
    actions.discard_draft(actor=user, draft=draft)
    messages.success(request, _("Brouillon abandonné."))
    if consultation is not None:
        return redirect("consultation_edit", public_id=consultation.public_id)
    return redirect("consultation_create", public_id=patient.public_id)


# --- Letters and certificates -------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def letter_new(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Choose one of one's templates (GET ?modele=<id>), read and edit the text filled for this
    patient, then create the PDF, filed in the record."""
    user = request.user
    patient = records.get_patient(user, public_id, Cap.MEDICAL_EDIT)
    templates = list(LetterTemplate.objects.filter(owner=user))
    chosen = None
    if request.method == "GET" and request.GET.get("modele"):
        chosen = next((t for t in templates if str(t.public_id) == request.GET["modele"]), None)
        if chosen is None:
            raise Http404
    if request.method == "POST":
        form = forms.LetterForm(request.POST)
        if form.is_valid():
            try:
                actions.create_letter(actor=user, patient=patient, **form.cleaned_data)
            except (actions.ActionError, documents.DocumentError, ValidationError) as exc:
                show_refusal(form, exc)
            else:
                messages.success(request, _("Courrier créé et classé dans les documents du dossier."))
                return redirect(reverse("patient_detail", args=[patient.public_id]) + "#documents")
    else:
        initial: dict[str, str] = {"kind": TemplateKind.LETTER}
        if chosen is not None:
            values = letters.values_for(patient, user, timezone.localdate())
            initial = {"kind": chosen.kind, "title": chosen.title, "body": letters.fill(chosen.body, values)}
        form = forms.LetterForm(initial=initial)
    return render(request, "clinical/letter_form.html",
                  {"form": form, "patient": patient, "templates": templates, "chosen": chosen})


@login_required
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    records.require(request.user, Cap.MEDICAL_EDIT)
    return render(request, "clinical/template_list.html", {
        "templates": LetterTemplate.objects.filter(owner=request.user), "fields": letters.FIELDS,
    })


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, public_id: Any = None) -> HttpResponse:
    user = request.user
    records.require(user, Cap.MEDICAL_EDIT)
    template = None
    if public_id is not None:
        # One's own templates only: another practitioner's are not found.
        template = LetterTemplate.objects.filter(public_id=public_id, owner=user).first()
        if template is None:
            raise Http404
    initial = {"kind": template.kind, "title": template.title, "body": template.body} if template else None
    form = forms.TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and "delete" in request.POST and template is not None:
        actions.delete_template(actor=user, template=template)
        messages.success(request, _("Modèle supprimé."))
        return redirect("letter_templates")
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_template(actor=user, template=template, **form.cleaned_data)
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Modèle enregistré."))
            return redirect("letter_templates")
    return render(request, "clinical/template_form.html",
                  {"form": form, "template": template, "fields": letters.FIELDS})

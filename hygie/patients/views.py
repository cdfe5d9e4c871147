"""Patient pages. Thin: fetch through hygie.access.records, change through actions, journal reads.

URLs carry random UUIDs only; searches are POSTed so that no name reaches a URL or a log line.
"""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    UnreadablePostError,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap, Role
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.clinical import drafts
from hygie.clinical import record as clinical_record
from hygie.core.readviews import read_page, read_post
from hygie.patients import actions, documents, forms, searches, uploads
from hygie.patients.models import Patient
from hygie.patients.search import by_name, search
from hygie.web.forms import show_refusal

PAGE_SIZE = 50
MAX_RESULTS = 50
# Shown under the header's search box as the user types; the rest behind « Tous les résultats ».
QUICK_RESULTS = 8


# --- List and search ---------------------------------------------------------------------

@login_required
@require_GET
@read_page
def patient_list(request: HttpRequest) -> HttpResponse:
    records.require(request.user, Cap.PATIENT_LIST)
    # Names are encrypted at rest: the database cannot sort by them. The list shows the most
    # recently updated records first (50 decrypted per page); search finds a patient by name.
    patients = records.patient_scope(request.user).order_by("-updated_at", "-pk")
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    journal.record(
        Ev.PATIENT_LISTED, actor=request.user, details={"page": page.number, "results": len(page.object_list)}
    )
    return render(request, "patients/patient_list.html", _list_context(request, form=forms.SearchForm(), page=page))


@login_required
@require_POST
@read_post
def patient_search(request: HttpRequest) -> HttpResponse:
    """Search, then redirect to the results (hygie.patients.searches: Back works, no name in the
    URL). From the header's search box, as the user types (fetch), the results come back as JSON
    for the script to show under the box; without JavaScript the same form lands here too."""
    records.require(request.user, Cap.PATIENT_LIST)
    form = forms.SearchForm(request.POST)
    as_you_type = request.headers.get("X-Requested-With") == "fetch"
    if not form.is_valid():
        if as_you_type:
            return JsonResponse({"error": " ".join(form.errors.get("q", [])), "results": []}, status=400)
        return render(request, "patients/patient_list.html", _list_context(request, form=form))
    found = search(records.patient_scope(request.user), form.cleaned_data["q"], limit=MAX_RESULTS)
    # The query itself is never journaled: it is patient data. `more`: over MAX_RESULTS.
    journal.record(Ev.PATIENT_SEARCHED, actor=request.user, details={"results": len(found), "more": found.more})
    token = searches.remember(request, [p.pk for p in found], more=found.more)
    results_url = reverse("patient_search_results", kwargs={"token": token})
    if as_you_type:
        return JsonResponse({
            "results": [
                {"name": p.display_name, "year": p.birth_date.year if p.birth_date else None,
                 "url": reverse("patient_detail", kwargs={"public_id": p.public_id})}
                for p in found[:QUICK_RESULTS]
            ],
            "more": found.more or len(found) > QUICK_RESULTS,
            "all_url": results_url,
        })
    # 303 See Other: the browser GETs the results; Back and reload never re-send the POST.
    response = redirect(results_url)
    response.status_code = 303
    return response


@login_required
@require_GET
@read_page
def patient_search_results(request: HttpRequest, token: str) -> HttpResponse:
    records.require(request.user, Cap.PATIENT_LIST)
    stored = searches.recall(request, token)
    if stored is None:
        messages.info(request, _("Cette recherche a expiré : relancez-la."))
        return redirect("patient_list")
    # Read back through the access module: a patient who left the user's reach since is not shown.
    found = list(records.patient_scope(request.user).filter(pk__in=stored.ids))
    found.sort(key=by_name)
    journal.record(Ev.PATIENT_LISTED, actor=request.user, details={"search": True, "results": len(found)})
    return render(
        request, "patients/patient_list.html",
        _list_context(request, form=forms.SearchForm(), results=found, more=stored.more),
    )


def _list_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user = request.user
    mine = user.role == Role.TITULAIRE
    # Who works for several practitioners (a secretary, a locum of two) needs to see whose
    # patient each one is: the practitioners of the user's scope who follow them.
    practitioners = {u.pk: u for u in records.agenda_practitioners(user)}
    several = len(practitioners) > 1 or not mine
    if several:
        shown = list(extra.get("results") or []) + list(getattr(extra.get("page"), "object_list", []) or [])
        prefetch_related_objects(shown, "care_team")
        for patient in shown:
            patient.followers = sorted(
                practitioners[m.practitioner_id].display_name
                for m in patient.care_team.all()
                if m.practitioner_id in practitioners
            )
    return {
        "can_create": records.can(user, Cap.PATIENT_CREATE),
        "can_break_glass": records.can(user, Cap.BREAK_GLASS),
        "max_results": MAX_RESULTS,
        "list_title": _("Mes patients") if mine else _("Patients des praticiens pour qui je travaille"),
        "show_practitioners": several,
        **extra,
    }


# --- Identity ----------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.PATIENT_CREATE)
    practitioners = records.practitioner_scope(user)
    form = forms.PatientCreateForm(request.POST or None, practitioners=practitioners)
    duplicate = None
    if not practitioners:
        form.add_error(None, _("Vous ne travaillez pour aucun praticien titulaire : impossible de créer un patient."))
    elif request.method == "POST" and form.is_valid():
        try:
            patient = actions.create_patient(actor=user, practitioner=form.practitioner(), data=form.cleaned_data)
        except actions.DuplicatePatient as exc:
            # The existing patient is in this patientèle, hence in the user's scope.
            duplicate = exc.existing
            form.add_error(None, str(exc))
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Patient créé."))
            return redirect("patient_detail", public_id=patient.public_id)
    return render(request, "patients/patient_form.html", {"form": form, "duplicate": duplicate, "creating": True})


@login_required
@require_GET
@read_page
def patient_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    medical = records.can(user, Cap.MEDICAL_VIEW)
    # What the banner and the rights panel need from the record's own row, read with it.
    also: list[records.ReadWithPatient] = []
    if medical:
        also += [drafts.read_with_patient, records.legal_holds_read_with_patient]
    if records.can(user, Cap.RIGHTS_RECORD):
        also += [records.restrictions_read_with_patient, records.rights_requests_read_with_patient]
    patient = records.get_patient(user, public_id, Cap.PATIENT_IDENTITY_VIEW, also=also)
    break_glass = records.is_break_glass(user, patient)
    context: dict[str, Any] = {
        "patient": patient,
        "medical": medical,
        "break_glass": break_glass,
        "break_glass_hours": settings.BREAK_GLASS_HOURS,
        "can_edit_identity": records.can(user, Cap.PATIENT_IDENTITY_EDIT),
        "can_edit_medical": records.can(user, Cap.MEDICAL_EDIT),
        "can_edit_team": records.can(user, Cap.CARE_TEAM_EDIT) and not break_glass,
        "can_erase": records.can(user, Cap.PATIENT_ERASE) and not break_glass,
    }
    if medical:
        consultations = records.consultations_of(user, patient, also=[drafts.read_with_consultations])
        # Every consultation of the record is in the list: its latest date is the last visit the
        # retention header needs (hygie.retention.actions.last_visit), no query of its own.
        patient.last_consultation = max((c.date for c in consultations), default=None)  # type: ignore[attr-defined]
        context.update(_retention_header(user, patient))
        team, candidates = records.care_team_of(user, patient, with_candidates=context["can_edit_team"])
        history = records.history_revisions(user, patient)
        context.update(clinical_record.summary(user, patient, consultations, team))
        context.update(
            history_latest=history[0] if history else None,
            consultations=consultations,
            documents=records.documents_of(user, patient),
            care_team=team,
            can_remove_from_team=len(team) > 1,
            team_candidates=candidates,
        )
    journal.record(
        Ev.PATIENT_VIEWED, actor=user, target=patient, details={"medical": medical, "break_glass": break_glass}
    )
    return render(request, "patients/patient_detail.html", context)


def _retention_header(user: Any, patient: Patient) -> dict[str, Any]:
    """The record's retention date and rule (docs/retention.md), for those who see medical data."""
    from hygie.retention import actions as retention_actions

    can_hold = records.can(user, Cap.RETENTION_MANAGE) and not records.is_break_glass(user, patient)
    # The holds were read with the record, for the decision and for the list of open holds.
    records.load_legal_holds(patient)
    return {
        "retention_decision": retention_actions.decide(patient),
        "archived": records.is_archived(patient),
        "can_hold": can_hold,
        "open_holds": [h for h in patient.legal_holds.all() if h.in_force] if can_hold else [],
    }


@login_required
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient(user, public_id, Cap.PATIENT_IDENTITY_EDIT)
    # The date of death is medical data: only those who see medical data change it.
    with_death = records.can(user, Cap.MEDICAL_EDIT)
    fields = [*actions.IDENTITY_FIELDS]
    if not with_death:
        fields.remove("death_date")
        fields.remove("declared_last_visit")
    initial = {name: getattr(patient, name) for name in fields}
    form = forms.IdentityForm(request.POST or None, initial=initial, with_death_date=with_death)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data.get(name) for name in fields}
        try:
            changed = actions.update_identity(actor=user, patient=patient, data=data)
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Identité enregistrée.") if changed else _("Aucune modification."))
            return redirect("patient_detail", public_id=patient.public_id)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient, "creating": False})


# --- Medical -----------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def history_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient(user, public_id, Cap.MEDICAL_EDIT)
    form = forms.HistoryForm(request.POST or None, initial={"history": patient.history})
    if request.method == "POST" and form.is_valid():
        actions.update_history(actor=user, patient=patient, history=form.cleaned_data["history"].strip())
        messages.success(request, _("Antécédents enregistrés."))
        return redirect("patient_detail", public_id=patient.public_id)
    if request.method == "GET":
        journal.record(Ev.HISTORY_VIEWED, actor=user, target=patient)
    return render(request, "patients/history_form.html", {"form": form, "patient": patient})


@login_required
@require_http_methods(["GET", "POST"])
@read_page
def consultation_create(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient(user, public_id, Cap.MEDICAL_EDIT)
    draft, draft_data = drafts.resume(request, patient, None)
    initial = {"date": timezone.localtime().replace(second=0)}
    # A draft fills the form as initial values: unbound, it shows no error before the user saves.
    form = forms.ConsultationForm(request.POST or None, initial={**initial, **draft_data})
    if request.method == "POST" and form.is_valid():
        try:
            consultation = actions.create_consultation(actor=user, patient=patient, **form.cleaned_data)
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            drafts.served(user, patient, None)
            messages.success(request, _("Consultation enregistrée."))
            return redirect("consultation_detail", public_id=consultation.public_id)
    return render(request, "patients/consultation_form.html", {
        "form": form, "patient": patient, "draft": draft,
        "draft_url": reverse("draft_new", args=[patient.public_id]),
    })


@login_required
@require_GET
@read_page
def consultation_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    consultation = records.get_consultation(user, public_id, Cap.MEDICAL_VIEW)
    revisions = records.consultation_revisions(user, consultation)
    journal.record(Ev.CONSULTATION_VIEWED, actor=user, target=consultation)
    return render(
        request,
        "patients/consultation_detail.html",
        {
            "consultation": consultation,
            "patient": consultation.patient,
            "edited": _edited(consultation, revisions),
            "revision_count": len(revisions),
            "can_edit_medical": records.can(user, Cap.MEDICAL_EDIT),
            "break_glass": records.is_break_glass(user, consultation.patient),
            "break_glass_hours": settings.BREAK_GLASS_HOURS,
        },
    )


def _edited(consultation: Any, revisions: list[Any]) -> Any:
    """The latest version when the consultation was changed after it was written (a second
    version, or a version by someone else than its practitioner): the page says "modifié par"."""
    if not revisions:
        return None
    latest = revisions[0]
    if len(revisions) > 1 or latest.author_id != consultation.practitioner_id:
        return latest
    return None


@login_required
@require_GET
@read_page
def consultation_revisions(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Every version of a consultation, with its author and time: for whoever may read it."""
    user = request.user
    consultation = records.get_consultation(user, public_id, Cap.MEDICAL_VIEW)
    revisions = records.consultation_revisions(user, consultation)
    journal.record(Ev.CONSULTATION_REVISIONS_VIEWED, actor=user, target=consultation,
                   details={"revisions": len(revisions)})
    return render(
        request,
        "patients/consultation_revisions.html",
        {
            "consultation": consultation,
            "patient": consultation.patient,
            "revisions": revisions,
            "break_glass": records.is_break_glass(user, consultation.patient),
            "break_glass_hours": settings.BREAK_GLASS_HOURS,
        },
    )


@login_required
@require_GET
@read_page
def history_revisions(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Every version of the antécédents, with its author and time: for whoever may read them."""
    user = request.user
    patient = records.get_patient(user, public_id, Cap.MEDICAL_VIEW)
    revisions = records.history_revisions(user, patient)
    journal.record(Ev.HISTORY_REVISIONS_VIEWED, actor=user, target=patient, details={"revisions": len(revisions)})
    return render(
        request,
        "patients/history_revisions.html",
        {
            "patient": patient,
            "revisions": revisions,
            "break_glass": records.is_break_glass(user, patient),
            "break_glass_hours": settings.BREAK_GLASS_HOURS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def consultation_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    consultation = records.get_consultation(user, public_id, Cap.MEDICAL_EDIT)
    initial = {name: getattr(consultation, name) for name in actions.CONSULTATION_FIELDS}
    draft, draft_data = drafts.resume(request, consultation.patient, consultation)
    # A draft fills the form as initial values: unbound, it shows no error before the user saves.
    form = forms.ConsultationForm(request.POST or None, initial={**initial, **draft_data})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if data["date"] == consultation.date.replace(second=0, microsecond=0):
            data["date"] = consultation.date  # the form shows minutes: an untouched date is unchanged
        try:
            changed = actions.update_consultation(actor=user, consultation=consultation, data=data)
        except (actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            drafts.served(user, consultation.patient, consultation)
            messages.success(request, _("Consultation enregistrée.") if changed else _("Aucune modification."))
            return redirect("consultation_detail", public_id=consultation.public_id)
    return render(
        request,
        "patients/consultation_form.html",
        {"form": form, "patient": consultation.patient, "consultation": consultation, "draft": draft,
         "draft_url": reverse("draft_edit", args=[consultation.public_id])},
    )


@transaction.non_atomic_requests
@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def document_upload(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The file is encrypted while it arrives (hygie.patients.uploads), so the patient — hence
    their data key — must be known before Django reads the body. CsrfViewMiddleware would read
    it first: this view is exempt and checks CSRF in _document_form, once the handler is set
    (Django's "Modifying upload handlers on the fly")."""
    user = request.user
    patient = records.get_patient(user, public_id, Cap.MEDICAL_EDIT)
    upload = uploads.EncryptingUploadHandler(request, patient=patient, limit=documents.max_bytes())
    request.upload_handlers = [upload]
    # Our own transaction instead of ATOMIC_REQUESTS: the body (a scan of tens of MB, perhaps
    # slow to arrive) is read and encrypted before it opens, and we know whether it committed.
    committed = False
    try:
        try:
            request.FILES  # noqa: B018 - reads the body through the handler, now
        except UnreadablePostError:
            return HttpResponseBadRequest()  # the browser went away during the upload
        with transaction.atomic():
            response = _document_form(request, patient, upload)
        committed = True
    finally:
        # No blob outlives a refused form, a failed action or a rolled-back transaction.
        upload.cleanup(committed=committed)
    return response


@csrf_protect
def _document_form(request: HttpRequest, patient: Patient, upload: uploads.EncryptingUploadHandler) -> HttpResponse:
    form = forms.DocumentForm(request.POST or None, request.FILES or None)
    if upload.error is not None:
        # The file was refused while it arrived: say why, rather than "choose a file".
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error(None, upload.error)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            document = actions.upload_document(
                actor=request.user, patient=patient, title=data["title"], kind=data["kind"], fileobj=data["file"]
            )
        except (documents.DocumentError, actions.ActionError, ValidationError) as exc:
            show_refusal(form, exc)
        else:
            upload.keep(document.storage_name)
            messages.success(request, _("Document ajouté."))
            return redirect("patient_detail", public_id=patient.public_id)
    return render(
        request,
        "patients/document_form.html",
        {"form": form, "patient": patient, "max_mb": settings.UPLOAD_MAX_MB},
    )


@login_required
@require_GET
@read_page
def document_download(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    document = records.get_document(user, public_id, Cap.MEDICAL_VIEW)
    try:
        blob = documents.open_blob(document.storage_name, patient=document.patient)
    except FileNotFoundError:
        raise Http404 from None
    except documents.StorageUnavailable as exc:
        return render(request, "web/error.html", {"code": 503, "message": str(exc)}, status=503)
    journal.record(Ev.DOCUMENT_DOWNLOADED, actor=user, target=document)
    # A neutral name: never the title or the patient's name, which would end up in a downloads folder.
    filename = f"document-{document.public_id.hex[:8]}{documents.extension(document.content_type)}"
    # Decrypted segment by segment while it is sent: never whole in memory.
    response = FileResponse(blob, as_attachment=True, filename=filename, content_type=document.content_type)
    response["Content-Length"] = str(document.size)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def patient_erase(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Erase a record for good (crypto-shredding): scope and role first (404 / 403), then a fresh
    proof of identity like the recovery kit (the action is irreversible), then the patient's
    code typed to confirm which record goes."""
    user = request.user
    patient = records.get_patient(user, public_id, Cap.PATIENT_ERASE)
    if records.is_break_glass(user, patient):
        # An exceptional access opens a record to read it, not to destroy it.
        raise PermissionDenied
    return _patient_erase(request, patient)


@reauthentication_required
def _patient_erase(request: HttpRequest, patient: Patient) -> HttpResponse:
    user = request.user
    form = forms.EraseForm(request.POST or None, code=patient.code)
    if request.method == "POST" and form.is_valid():
        try:
            actions.erase_patient(actor=user, patient=patient)
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Le dossier a été effacé définitivement."))
            return redirect("patient_list")
    return render(request, "patients/patient_erase.html", {"form": form, "patient": patient})


# --- Care team ---------------------------------------------------------------------------

@login_required
@require_POST
def care_team(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient(user, public_id, Cap.CARE_TEAM_EDIT)
    if records.is_break_glass(user, patient):
        # An exceptional access is temporary: it must not become a lasting place in the team.
        raise PermissionDenied
    form = forms.CareTeamForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for msg in errors:
                messages.error(request, msg)
        return redirect("patient_detail", public_id=patient.public_id)
    practitioner = form.cleaned_data["practitioner"]
    try:
        if form.cleaned_data["operation"] == "add":
            actions.add_to_care_team(actor=user, patient=patient, practitioner=practitioner)
            messages.success(request, _("Praticien ajouté à l'équipe de soins."))
        else:
            actions.remove_from_care_team(actor=user, patient=patient, practitioner=practitioner)
            messages.success(request, _("Praticien retiré de l'équipe de soins."))
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    if not records.patient_scope(user).filter(pk=patient.pk).exists():
        # The user just left the team: the record is out of reach now.
        return redirect("patient_list")
    return redirect("patient_detail", public_id=patient.public_id)


# --- Break-the-glass ---------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def break_glass_search(request: HttpRequest) -> HttpResponse:
    """Find a practice patient outside one's care teams. Until a reason is given the page says only
    that records match: no name, birth year or code, nothing that tells who the patient is."""
    user = request.user
    records.require(user, Cap.BREAK_GLASS)
    form = forms.BreakGlassSearchForm(request.POST or None)
    results = None
    total, more = 0, False
    if request.method == "POST" and form.is_valid():
        found = search(records.break_glass_candidates(user), form.cleaned_data["q"], limit=MAX_RESULTS)
        # Counts only: never the criteria typed, never who matched.
        journal.record(
            Ev.PATIENT_SEARCHED, actor=user,
            details={"results": len(found), "more": found.more, "break_glass": True},
        )
        total, more = len(found), found.more
        # In the order search gives, which follows no name: the position tells nothing either.
        results = [p.public_id for p in found]
    return render(
        request,
        "patients/break_glass_search.html",
        {"form": form, "results": results, "total": total, "more": more, "max_results": MAX_RESULTS,
         "hours": settings.BREAK_GLASS_HOURS},
    )


def _outside_patient(user: Any, public_id: Any) -> Patient:
    records.require(user, Cap.BREAK_GLASS)
    patient = records.find_patient_outside_scope(user, public_id)
    if patient is None:
        raise Http404
    return patient


@login_required
@require_http_methods(["GET", "POST"])
def break_glass_open(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Ask for the reason. The page names no one (the identity shows once the access is open);
    showing it is journaled against the patient, so the titulaire and the referent see it."""
    user = request.user
    patient = _outside_patient(user, public_id)
    if records.patient_scope(user).filter(pk=patient.pk).exists():
        return redirect("patient_detail", public_id=patient.public_id)
    form = forms.BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.open_break_glass(user, patient, form.cleaned_data["reason"])
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            messages.warning(request, _("Accès exceptionnel ouvert. Il est enregistré dans le journal."))
            return redirect("patient_detail", public_id=patient.public_id)
    if request.method == "GET":
        journal.record(Ev.BREAK_GLASS_REQUESTED, actor=user, target=patient)
    return render(
        request,
        "patients/break_glass_open.html",
        {"form": form, "public_id": patient.public_id, "hours": settings.BREAK_GLASS_HOURS},
    )

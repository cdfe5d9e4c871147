"""Incident pages (docs/incidents.md). Thin: capability checks through hygie.access.records,
every change through hygie.incidents.actions. Only random UUIDs in paths; the texts typed stay
in the incident's rows, never in URLs or the journal."""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.db.models import Exists
from django.db.models.expressions import BaseExpression
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap, Role
from hygie.accounts.models import User
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.core import onerow
from hygie.incidents import actions, cnil, evidence, fiche, forms, notices, scenarios
from hygie.incidents import lockdown as state
from hygie.incidents.models import Contacts, Incident, Lockdown
from hygie.lib import breach
from hygie.web.forms import show_refusal


def _incident(user: Any, public_id: Any) -> Incident:
    records.require(user, Cap.INCIDENT_MANAGE)
    incident = Incident.objects.filter(public_id=public_id).first()
    if incident is None:
        raise Http404
    return incident


def clocks(now: Any = None) -> list[tuple[Incident, breach.Clock]]:
    """Open breaches with their 72-hour clock, most urgent first (dashboard and incident page)."""
    now = now or timezone.now()
    rows = [(i, breach.clock(i.aware_at, now, stopped=i.clock_stopped))
            for i in Incident.objects.filter(closed_at__isnull=True)]
    return sorted(rows, key=lambda r: (r[1].stage == breach.Stage.DONE, r[1].left))


def dashboard_reads(user: Any) -> dict[str, BaseExpression]:
    """Whether a breach is open, for the dashboard's single read (hygie.core.onerow)."""
    if not records.can(user, Cap.INCIDENT_MANAGE):
        return {}
    return onerow.frozen(_open_breach)


def _open_breach() -> dict[str, BaseExpression]:
    return {"incident_open": Exists(Incident.objects.filter(closed_at__isnull=True))}


def dashboard_context(user: Any, read: dict[str, Any] | None = None) -> dict[str, Any]:
    """For the dashboard of admin, referent and titulaires: the lockdown and the clocks.
    `read`: the values of `dashboard_reads` (else read here); no open breach, no list read."""
    if not records.can(user, Cap.INCIDENT_MANAGE):
        return {}
    read = read if read is not None else onerow.read(dashboard_reads(user))
    if not read["incident_open"]:
        return {"incident_clocks": []}
    return {"incident_clocks": [r for r in clocks() if r[1].stage != breach.Stage.DONE]}


def _attachment(data: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _refuse_while_locked(request: HttpRequest, what: str) -> HttpResponse | None:
    row = state.current()
    if row is None:
        return None
    actions.refused(request.user, what)
    return render(request, "incidents/refused.html", {"lockdown": row}, status=423)


# --- The incident page ----------------------------------------------------------------------

@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.INCIDENT_MANAGE)
    current = state.current()
    return render(request, "incidents/home.html", {
        "lockdown": current,
        "lockdown_form": forms.LockdownForm(),
        "lift_form": forms.LiftForm(),
        "can_lift": records.can(user, Cap.INCIDENT_LIFT),
        "needs_confirmation": actions.lift_needs_confirmation(user),
        "clocks": clocks(),
        "incidents": Incident.objects.order_by("-aware_at")[:100],
        "open_form": forms.OpenForm(initial={"discovered_at": timezone.localtime().replace(second=0, microsecond=0),
                                             "aware_at": timezone.localtime().replace(second=0, microsecond=0)}),
        "exercise_form": forms.ExerciseForm(),
        "reflexes": fiche.FIRST_REFLEXES,
        "national": fiche.NATIONAL,
        "contacts": fiche.practice_contacts(),
        "history": Lockdown.objects.filter(exercise=False)[:10],
    })


@login_required
@require_POST
def lockdown_start(request: HttpRequest) -> HttpResponse:
    # No re-authentication: in an emergency the switch must work at once; it only closes doors.
    user = request.user
    records.require(user, Cap.INCIDENT_MANAGE)
    form = forms.LockdownForm(request.POST)
    if form.is_valid():
        try:
            actions.start_lockdown(actor=user, reason=form.cleaned_data["reason"])
        except actions.ActionError as exc:
            messages.error(request, str(exc))
            return redirect("incidents")
        # This session ended with the others (its epoch was bumped): the login page says why.
        return redirect("account_login")
    for errors in form.errors.values():
        for e in errors:
            messages.error(request, e)
    return redirect("incidents")


@login_required
@require_POST
def lockdown_lift(request: HttpRequest) -> HttpResponse:
    records.require(request.user, Cap.INCIDENT_LIFT)
    return _lift(request)


def _confirmer(form: forms.LiftForm) -> User | None:
    """The second admin or referent, if their password and current code are right."""
    data = form.cleaned_data
    if not data.get("confirmer"):
        return None
    user = authenticate(username=data["confirmer"], password=data.get("confirmer_password") or "")
    if user is None or user.role not in (Role.ADMIN, Role.REFERENT):
        return None
    code = (data.get("confirmer_code") or "").strip()
    for a in Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP):
        if code and a.wrap().validate_code(code):
            return user
    return None


@reauthentication_required
def _lift(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = forms.LiftForm(request.POST)
    form.is_valid()
    confirmer = _confirmer(form)
    if form.cleaned_data.get("confirmer") and confirmer is None:
        actions.refused(user, "lift")
        messages.error(request, _("Confirmation refusée : identifiant, mot de passe ou code incorrect, ou "
                                  "compte qui n'est ni administrateur ni référent. L'isolement continue."))
        return redirect("incidents")
    try:
        actions.lift_lockdown(actor=user, confirmer=confirmer)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
        return redirect("incidents")
    messages.success(request, _("Isolement levé : Hygie fonctionne de nouveau. Reconnectez-vous."))
    return redirect("account_login")


# --- The register ---------------------------------------------------------------------------

@login_required
@require_POST
def incident_open(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.INCIDENT_MANAGE)
    form = forms.OpenForm(request.POST)
    if form.is_valid():
        try:
            incident = actions.open_incident(actor=user, **form.cleaned_data)
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            return redirect("incident_detail", public_id=incident.public_id)
    return render(request, "incidents/open.html", {"form": form})


def _detail_context(user: Any, incident: Incident, **forms_given: Any) -> dict[str, Any]:
    now = timezone.now()
    codes = records.incident_patient_codes(user, incident.affected_patients) if incident.affected_patients else {}
    letters: list[Any] = []
    if incident.art34 == "notify" and records.can(user, Cap.PATIENT_IDENTITY_VIEW):
        letters = list(records.incident_notice_patients(user, incident.affected_patients))
    return {
        "incident": incident,
        "clock": breach.clock(incident.aware_at, now, stopped=incident.clock_stopped),
        "entries": incident.entries.select_related("author"),
        "form": forms_given.get("form") or forms.IncidentForm(instance=incident),
        "entry_form": forms_given.get("entry_form") or forms.EntryForm(),
        "scope_form": forms_given.get("scope_form") or forms.ScopeForm(),
        "decision_form": forms_given.get("decision_form") or forms.DecisionForm(),
        "notified_form": forms_given.get("notified_form") or forms.NotifiedForm(),
        "art34_form": forms_given.get("art34_form") or forms.Art34Form(
            initial={"decision": incident.art34 or actions.art34_proposal(incident).value}),
        "proposal": actions.art34_proposal(incident),
        "codes": sorted(codes.values()),
        "letters": letters,
        "notices_count": incident.notices.count(),
        "steps": scenarios.STEPS,
        "manual_steps": [(k, label) for k, label in scenarios.STEPS if k not in scenarios.SIMULATED],
        "drill": actions.current_drill(incident) if incident.exercise else None,
        "done_steps": {e.step: e for e in incident.entries.all() if e.step},
        "cnil_fields": cnil.draft(incident, complement=incident.notified_at is not None),
    }


@login_required
@require_http_methods(["GET", "POST"])
def incident_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    incident = _incident(user, public_id)
    if request.method == "POST":
        form = forms.IncidentForm(request.POST, instance=Incident.objects.get(pk=incident.pk))
        if form.is_valid():
            try:
                changed = actions.update_incident(actor=user, incident=incident, **{
                    k: form.cleaned_data[k] for k in actions.EDITABLE})
            except actions.ActionError as exc:
                show_refusal(form, exc)
            else:
                messages.success(request, _("Fiche enregistrée.") if changed else _("Rien n'a changé."))
                return redirect("incident_detail", public_id=incident.public_id)
        return render(request, "incidents/detail.html", _detail_context(user, incident, form=form))
    return render(request, "incidents/detail.html", _detail_context(user, incident))


def _post(request: HttpRequest, public_id: Any, form_class: type, name: str, do: Any) -> HttpResponse:
    """Shared shape of the small POST forms of the incident page: valid → action → back to the
    page; refused → the page again with the French message, nothing changed."""
    user = request.user
    incident = _incident(user, public_id)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            do(user, incident, form.cleaned_data)
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            return redirect("incident_detail", public_id=incident.public_id)
    return render(request, "incidents/detail.html", _detail_context(user, incident, **{name: form}))


@login_required
@require_POST
def incident_entry(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _post(request, public_id, forms.EntryForm, "entry_form",
                 lambda u, i, d: actions.add_entry(actor=u, incident=i, text=d["text"]))


@login_required
@require_POST
def incident_scope(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _post(request, public_id, forms.ScopeForm, "scope_form",
                 lambda u, i, d: actions.scope_from_journal(actor=u, incident=i, account=d["account"],
                                                            start=d["start"], end=d["end"]))


@login_required
@require_POST
def incident_decision(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _post(request, public_id, forms.DecisionForm, "decision_form",
                 lambda u, i, d: actions.decide_notification(actor=u, incident=i, notify=d["notify"],
                                                             reason=d["reason"]))


@login_required
@require_POST
def incident_notified(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _post(request, public_id, forms.NotifiedForm, "notified_form",
                 lambda u, i, d: actions.record_notification(actor=u, incident=i, **d))


@login_required
@require_POST
def incident_art34(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _post(request, public_id, forms.Art34Form, "art34_form",
                 lambda u, i, d: actions.decide_art34(actor=u, incident=i, **d))


@login_required
@require_POST
def incident_close(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    incident = _incident(user, public_id)
    try:
        if incident.exercise:
            actions.end_exercise(actor=user, incident=incident)
        else:
            actions.close_incident(actor=user, incident=incident)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    return redirect("incident_detail", public_id=incident.public_id)


@login_required
@require_POST
def incident_step(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    incident = _incident(user, public_id)
    form = forms.StepForm(request.POST)
    if form.is_valid():
        step = form.cleaned_data["step"]
        try:
            actions.exercise_step(actor=user, incident=incident, step=step, text=dict(scenarios.STEPS)[step])
        except actions.ActionError as exc:
            messages.error(request, str(exc))
    return redirect("incident_detail", public_id=incident.public_id)


@login_required
@require_POST
def incident_drill(request: HttpRequest, public_id: Any) -> HttpResponse:
    """EXERCICE: « Isoler Hygie » in simulation; nobody is signed out."""
    user = request.user
    incident = _incident(user, public_id)
    try:
        actions.simulate_lockdown(actor=user, incident=incident)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("EXERCICE : isolement simulé. Personne n'a été déconnecté ; voici ce qui "
                                    "aurait été coupé."))
    return redirect(f"{reverse('incident_detail', kwargs={'public_id': incident.public_id})}#drill")


@login_required
@require_POST
def incident_drill_lift(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    incident = _incident(user, public_id)
    try:
        actions.simulate_lift(actor=user, incident=incident)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("EXERCICE : levée simulée."))
    return redirect(f"{reverse('incident_detail', kwargs={'public_id': incident.public_id})}#drill")


@login_required
@require_POST
def exercise_start(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.INCIDENT_MANAGE)
    form = forms.ExerciseForm(request.POST)
    if form.is_valid():
        try:
            incident = actions.start_exercise(actor=user, scenario=form.cleaned_data["scenario"])
        except actions.ActionError as exc:
            messages.error(request, str(exc))
        else:
            return redirect("incident_detail", public_id=incident.public_id)
    return redirect("incidents")


# --- Downloads ------------------------------------------------------------------------------

@login_required
@require_GET
def cnil_draft(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The draft as plain text, to copy into the CNIL's form (shown, not downloaded)."""
    incident = _incident(request.user, public_id)
    complement = request.GET.get("complementaire") == "1"
    text = cnil.as_text(cnil.draft(incident, complement=complement))
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@login_required
@require_GET
def patient_notice(request: HttpRequest, public_id: Any, patient_id: Any) -> HttpResponse:
    user = request.user
    incident = _incident(user, public_id)
    refused = _refuse_while_locked(request, "download")
    if refused is not None:
        return refused
    patient = records.incident_notice_patients(user, incident.affected_patients).filter(public_id=patient_id).first()
    if patient is None:
        raise Http404
    if notices.names_in(incident, records.incident_other_names(user, incident.affected_patients, patient.pk)):
        messages.error(request, _("Les textes de la lettre (données, conséquences, mesures) citent un autre "
                                  "patient concerné : corrigez la fiche avant de générer les lettres."))
        return redirect("incident_detail", public_id=incident.public_id)
    try:
        actions.record_notice(actor=user, incident=incident, patient=patient)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
        return redirect("incident_detail", public_id=incident.public_id)
    pdf = notices.notice_pdf(incident, patient_name=patient.display_name, patient_address=patient.address)
    return _attachment(pdf, "application/pdf", f"information-violation-{patient.code}.pdf")


@login_required
@require_GET
def evidence_export(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    incident = _incident(user, public_id)
    refused = _refuse_while_locked(request, "download")
    if refused is not None:
        return refused
    data, sums = evidence.build(incident)
    journal.record(Ev.BREACH_EVIDENCE_EXPORTED, actor=user, target=incident,
                   details={"incident": str(incident.public_id), "sha256": sums})
    return _attachment(data, "application/zip", f"preuves-incident-{timezone.localdate():%Y%m%d}.zip")


@login_required
@require_GET
def fiche_pdf(request: HttpRequest) -> HttpResponse:
    records.require(request.user, Cap.INCIDENT_MANAGE)
    journal.record(Ev.FICHE_REFLEXE_EXPORTED, actor=request.user)
    return _attachment(fiche.fiche_pdf(), "application/pdf", "fiche-reflexe-incident.pdf")


@login_required
@require_http_methods(["GET", "POST"])
def contacts(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.INCIDENT_MANAGE)
    form = forms.ContactsForm(request.POST or None, instance=Contacts.current())
    if request.method == "POST" and form.is_valid():
        actions.save_contacts(actor=user, **{k: form.cleaned_data.get(k) or "" for k in actions.CONTACT_FIELDS})
        messages.success(request, _("Contacts enregistrés : la fiche réflexe est à jour."))
        return redirect("incidents")
    return render(request, "incidents/contacts.html", {"form": form})

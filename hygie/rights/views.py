"""Patients' rights pages (docs/rights.md). Thin: fetch through hygie.access.records, change
through hygie.rights.actions. Names travel in pages and POST bodies, never in URLs or the journal."""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models.expressions import BaseExpression
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.core import onerow
from hygie.exchange import handoff
from hygie.lib import rights as rules
from hygie.rights import actions, forms
from hygie.rights.models import Right, RightsRequest, Status
from hygie.web.forms import show_refusal


def _row(request: Any, today: Any) -> dict[str, Any]:
    return {"r": request, "urgency": rules.urgency(request.due_on, today) if request.is_open else ""}


@login_required
@require_GET
def register(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.RIGHTS_RECORD)
    found = list(records.rights_requests(user).order_by("status", "due_on", "received_at"))
    journal.record(Ev.RIGHTS_REGISTER_VIEWED, actor=user, details={"requests": len(found)})
    today = timezone.localdate()
    return render(request, "rights/register.html", {"rows": [_row(r, today) for r in found]})


@login_required
@require_http_methods(["GET", "POST"])
def request_create(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient(user, public_id, Cap.RIGHTS_RECORD)
    now = timezone.localtime().replace(second=0, microsecond=0)
    form = forms.RequestForm(request.POST or None, initial={"received_at": now})
    if request.method == "POST" and form.is_valid():
        try:
            created = actions.record_request(actor=user, patient=patient, **form.cleaned_data)
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            day = created.due_on.strftime("%d/%m/%Y")
            messages.success(request, _("Demande enregistrée. Échéance : %(day)s.") % {"day": day})
            return redirect("rights_request", public_id=created.public_id)
    return render(request, "rights/request_form.html", {"patient": patient, "form": form})


@login_required
@require_GET
def request_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    rights_request = records.get_rights_request(user, public_id, Cap.RIGHTS_RECORD)
    answer = records.can(user, Cap.RIGHTS_ANSWER) and rights_request.practitioner_id == user.pk
    context: dict[str, Any] = {
        "req": rights_request,
        "answer": answer,
        "urgency": rules.urgency(rights_request.due_on, timezone.localdate()) if rights_request.is_open else "",
        "rule_label": rules.RULE_LABELS.get(rights_request.rule, rights_request.rule),
        "floor_passed": rights_request.earliest_at is None or timezone.now() >= rights_request.earliest_at,
        "extension_limit": rules.extension_limit(timezone.localtime(rights_request.received_at)),
        "Right": Right,
    }
    if answer and rights_request.is_open and not rights_request.erased:
        context.update(
            extend_form=forms.ExtendForm(),
            answer_form=forms.AnswerForm(),
            refuse_form=forms.RefuseForm(),
            restriction_form=forms.RestrictionForm(),
        )
    if not rights_request.erased and answer:
        context["restrictions"] = list(rights_request.restrictions.all())
    return render(request, "rights/request_detail.html", context)


def _answering(request: HttpRequest, public_id: Any) -> Any:
    return records.get_rights_request(request.user, public_id, Cap.RIGHTS_ANSWER)


def _done(request: HttpRequest, rights_request: Any, action: Any, success: str) -> HttpResponse:
    try:
        action()
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect("rights_request", public_id=rights_request.public_id)


@login_required
@require_POST
def request_extend(request: HttpRequest, public_id: Any) -> HttpResponse:
    rights_request = _answering(request, public_id)
    form = forms.ExtendForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Indiquez la date à laquelle le patient a été informé et le motif : rien n'a changé.")
        )
        return redirect("rights_request", public_id=rights_request.public_id)
    return _done(
        request, rights_request,
        lambda: actions.extend(actor=request.user, request=rights_request, **form.cleaned_data),
        _("Délai prolongé de 2 mois."),
    )


@login_required
@require_POST
def request_answer(request: HttpRequest, public_id: Any) -> HttpResponse:
    rights_request = _answering(request, public_id)
    form = forms.AnswerForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    return _done(
        request, rights_request,
        lambda: actions.answer(actor=request.user, request=rights_request, note=note),
        _("Réponse enregistrée."),
    )


@login_required
@require_POST
def request_refuse(request: HttpRequest, public_id: Any) -> HttpResponse:
    rights_request = _answering(request, public_id)
    form = forms.RefuseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Indiquez le motif du refus et l'explication donnée : rien n'a changé."))
        return redirect("rights_request", public_id=rights_request.public_id)
    return _done(
        request, rights_request,
        lambda: actions.refuse(actor=request.user, request=rights_request, **form.cleaned_data),
        _("Refus enregistré."),
    )


def _export(request: HttpRequest, public_id: Any, fmt: str) -> HttpResponse:
    user = request.user
    rights_request = _answering(request, public_id)
    patient = rights_request.patient
    if patient is None:
        messages.error(request, _("Le dossier de cette demande a été effacé."))
        return redirect("rights_request", public_id=rights_request.public_id)
    try:
        material = records.record_material(user, patient)
        data = actions.export(actor=user, request=rights_request, fmt=fmt, material=material)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
        return redirect("rights_request", public_id=rights_request.public_id)
    response = HttpResponse(data, content_type="application/pdf" if fmt == "pdf" else "application/fhir+json")
    name = actions.export_name(patient, fmt)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def export_pdf(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _export(request, public_id, "pdf")


@login_required
@require_GET
def export_fhir(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _export(request, public_id, "fhir")


@login_required
@require_POST
def export_7z(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The copy as a 7z AES archive (hygie.exchange): the passphrase is shown on the next page only."""
    user = request.user
    rights_request = _answering(request, public_id)
    patient = rights_request.patient
    fmt = request.POST.get("format", "")
    if patient is None:
        messages.error(request, _("Le dossier de cette demande a été effacé."))
        return redirect("rights_request", public_id=rights_request.public_id)
    token, out = handoff.new_path()
    try:
        material = records.record_material(user, patient)
        passphrase = actions.export_archive(actor=user, request=rights_request, fmt=fmt, material=material, out=out)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
        return redirect("rights_request", public_id=rights_request.public_id)
    ready = handoff.remember(
        request, token=token, passphrase=passphrase, path=out, cap=Cap.RIGHTS_ANSWER.value, purpose="rights",
        filename=f"copie-{timezone.localdate():%Y%m%d}.7z",
    )
    response = render(request, "exchange/handoff_ready.html", {
        **ready.context(), "what": _("copie du dossier"),
        "back_url": reverse("rights_request", kwargs={"public_id": rights_request.public_id}),
    })
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def erasure(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The decision screen: the legal retention from the retention engine; refuse here (POST)."""
    from hygie.lib import retention as retention_rules

    rights_request = _answering(request, public_id)
    if rights_request.right != Right.ERASURE or rights_request.erased:
        return redirect("rights_request", public_id=rights_request.public_id)
    form = forms.ErasureRefuseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _done(
            request, rights_request,
            lambda: actions.refuse_erasure(actor=request.user, request=rights_request, note=form.cleaned_data["note"]),
            _("Effacement refusé : le dossier est conservé."),
        )
    assessment = actions.assess_erasure(rights_request)
    return render(request, "rights/erasure.html", {
        "req": rights_request,
        "assessment": assessment,
        "rule_label": retention_rules.RULE_LABELS.get(assessment.decision.rule.split("+")[0], ""),
        "form": form,
        "is_open": rights_request.status == Status.OPEN,
    })


@login_required
@require_POST
def erasure_accept(request: HttpRequest, public_id: Any) -> HttpResponse:
    # The role and the scope first: a user who may not decide is refused, not asked for a password.
    _answering(request, public_id)
    return _erasure_accept(request, public_id)


@reauthentication_required
def _erasure_accept(request: HttpRequest, public_id: Any) -> HttpResponse:
    rights_request = _answering(request, public_id)
    try:
        actions.accept_erasure(actor=request.user, request=rights_request)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
        return redirect("rights_request", public_id=rights_request.public_id)
    messages.success(request, _("Dossier détruit : la demande reste au registre, sous le code du patient."))
    return redirect("rights_request", public_id=rights_request.public_id)


@login_required
@require_POST
def restriction_set(request: HttpRequest, public_id: Any) -> HttpResponse:
    rights_request = _answering(request, public_id)
    form = forms.RestrictionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez le traitement à bloquer : rien n'a changé."))
        return redirect("rights_request", public_id=rights_request.public_id)
    return _done(
        request, rights_request,
        lambda: actions.set_restriction(actor=request.user, request=rights_request, **form.cleaned_data),
        _("Traitement bloqué jusqu'à la levée."),
    )


@login_required
@require_POST
def restriction_lift(request: HttpRequest, public_id: Any) -> HttpResponse:
    restriction = records.get_restriction(request.user, public_id)
    try:
        actions.lift_restriction(actor=request.user, restriction=restriction)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Limitation levée."))
    return redirect("patient_detail", public_id=restriction.patient.public_id)


_PANEL_FIELDS = ("public_id", "patient_code", "right", "due_on", "status")


def dashboard_reads(user: Any) -> dict[str, BaseExpression]:
    """Whether any request is open, for the dashboard's single read (hygie.core.onerow)."""
    if not records.can(user, Cap.RIGHTS_WATCH):
        return {}
    return records.rights_deadlines_reads(user)


def dashboard_context(user: Any, read: dict[str, Any] | None = None) -> dict[str, Any]:
    """For the dashboard: open requests due within the warning window, and late ones. The
    referent sees codes only (the template shows nothing else). `read`: the values of
    `dashboard_reads` (else read here); no open request, no list read."""
    if not records.can(user, Cap.RIGHTS_WATCH):
        return {"rights_watch": None}
    read = read if read is not None else onerow.read(dashboard_reads(user))
    today = timezone.localdate()
    opened = []
    if read["rights_open"]:
        # The plain columns the panel shows, as unsaved instances: no patient key is read for
        # a panel that shows codes and dates (a model row would unwrap its patient's key).
        found = records.rights_deadlines(user).order_by("due_on").values(*_PANEL_FIELDS)
        opened = [RightsRequest(**values) for values in found]
    rows = [_row(r, today) for r in opened]
    rows = [row for row in rows if row["urgency"]]
    return {"rights_watch": rows, "rights_codes_only": not records.can(user, Cap.RIGHTS_RECORD)}

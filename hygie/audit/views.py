"""The journal viewer and alerts (referent, administrator), and the "accès au dossier" report of
one patient (the practitioner). Thin: access through hygie.access.records, changes through
hygie.audit.actions, every read journaled.

The viewer shows patients by pseudonymous code only, never a name nor medical content.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.audit import actions, alerts, journal, labels, report
from hygie.audit.events import Ev
from hygie.audit.forms import AcknowledgeForm, JournalFilterForm
from hygie.audit.models import Alert, AlertKind, Checkpoint, Event
from hygie.practices.models import Practice

PAGE_SIZE = 50


# --- Journal viewer ------------------------------------------------------------------------

@login_required
@require_GET
def journal_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.JOURNAL_VIEW)
    form = JournalFilterForm(request.GET or None)
    events = Event.objects.select_related("actor").order_by("-id")
    used: list[str] = []
    patient_id = None
    alert = None
    if form.is_valid():
        events, used, patient_id, alert = _filter(user, events, form.cleaned_data)
    elif form.is_bound:
        events = events.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    codes = records.journal_patient_codes(user, {e.patient_id for e in rows})
    reasons = records.break_glass_reasons(user, {_access_id(e) for e in rows} - {None})
    reasons_visible = records.can(user, Cap.BREAK_GLASS_REVIEW)
    # Which filters were used and how much was shown; never the values typed.
    journal.record(
        Ev.JOURNAL_VIEWED, actor=user, patient_id=patient_id,
        details={"filters": used, "page": page.number, "results": page.paginator.count},
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/journal.html", {
        "form": form,
        "page": page,
        "rows": [_row(e, codes, reasons, reasons_visible) for e in rows],
        "query": query.urlencode(),
        "alert": alert,
        "last_verification": Event.objects.filter(action=Ev.JOURNAL_VERIFIED).order_by("-id").first(),
        "last_checkpoint": Checkpoint.objects.order_by("-seq").first(),
    })


def _filter(user: Any, events: QuerySet[Event], data: dict) -> tuple[QuerySet[Event], list[str], int | None, Any]:
    used = []
    patient_id = None
    alert = None
    if data.get("user"):
        events = events.filter(actor=data["user"])
        used.append("user")
    if data.get("patient"):
        patient_id = records.journal_patient_id(user, data["patient"])
        # An unknown code shows nothing, like a code with no event.
        events = events.filter(patient_id=patient_id) if patient_id is not None else events.none()
        used.append("patient")
    if data.get("action"):
        events = events.filter(action=data["action"])
        used.append("action")
    tz = timezone.get_current_timezone()
    if data.get("start"):
        events = events.filter(at__gte=datetime.combine(data["start"], time.min, tzinfo=tz))
        used.append("start")
    if data.get("end"):
        events = events.filter(at__lt=datetime.combine(data["end"] + timedelta(days=1), time.min, tzinfo=tz))
        used.append("end")
    if data.get("alert"):
        alert = Alert.objects.filter(public_id=data["alert"]).first()
        events = events.filter(id__in=alert.event_ids) if alert else events.none()
        used.append("alert")
    return events, used, patient_id, alert


def _access_id(e: Event) -> str | None:
    return (e.details or {}).get("access") if e.action in (Ev.BREAK_GLASS, Ev.ARCHIVE_OPENED) else None


def _row(e: Event, codes: dict[int, str], reasons: dict[str, str], reasons_visible: bool) -> dict[str, Any]:
    erased = bool(e.patient_id) and e.patient_id not in codes
    return {
        "event": e,
        "reason": _reason(e, reasons, visible=reasons_visible, erased=erased),
        "actor": e.actor.display_name if e.actor else "",
        "role": labels.role_label(e.actor_role) if e.actor_role else "",
        "action": labels.action_label(e.action),
        "outcome": labels.outcome_label(e.outcome),
        "failed": e.outcome != "success",
        "patient_code": codes.get(e.patient_id, "") if e.patient_id else "",
        "erased": erased,
        "target": _target_label(e),
    }


def _target_label(e: Event) -> str:
    """What the event is about, in words (« patient », « utilisateur »…), not the internal
    « patients.patient 37 »: the patient's code has its own column, ids mean nothing to a reader."""
    if not e.target_type:
        return ""
    try:
        model = apps.get_model(e.target_type)
    except (LookupError, ValueError):
        return e.target_type
    return str(model._meta.verbose_name)


def _reason(e: Event, reasons: dict[str, str], *, visible: bool, erased: bool) -> str:
    """The reason of a break-the-glass access, for the referent only ("motif masqué" for the
    administrator). It lives encrypted in the access row; events written before that (their
    `reason` column, docs/journal.md) are masked the same way, and hidden once the patient is
    erased, like the encrypted ones."""
    access = _access_id(e)
    if not access and not e.reason:
        return ""
    if not visible:
        return _("motif masqué")
    if access and access in reasons:
        return reasons[access]
    if erased or access:
        return _("motif effacé avec le dossier")
    return e.reason


@login_required
@require_POST
@transaction.non_atomic_requests
def journal_verify(request: HttpRequest) -> HttpResponse:
    # Outside the request's transaction: the verification reads its own snapshot (in parallel on
    # a large journal) without holding the database's write lock meanwhile.
    records.require(request.user, Cap.JOURNAL_VIEW)
    result = actions.verify_journal(actor=request.user)
    if result.ok:
        messages.success(request, result.summary())
    else:
        messages.error(request, result.summary())
    return redirect("journal")


# --- Alerts --------------------------------------------------------------------------------

@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.JOURNAL_VIEW)
    pending = list(alerts.open_alerts().order_by("-created_at", "-id")[:200])
    done = list(
        Alert.objects.filter(acknowledged_at__isnull=False).select_related("user", "acknowledged_by")
        .order_by("-acknowledged_at")[:50]
    )
    patients = {a.details.get("patient") for a in pending + done}
    codes = records.journal_patient_codes(user, patients)
    reasons = records.break_glass_reasons(user, {a.details.get("access") for a in pending + done} - {None, ""})
    can_review = records.can(user, Cap.BREAK_GLASS_REVIEW)
    journal.record(Ev.JOURNAL_VIEWED, actor=user, details={"alerts": len(pending)})

    def card(a: Alert) -> dict[str, Any]:
        break_glass = a.kind == AlertKind.BREAK_GLASS
        reason = ""
        if break_glass:
            access = a.details.get("access") or ""
            reason = reasons.get(access, _("motif effacé avec le dossier")) if can_review else _("motif masqué")
        return {
            "alert": a,
            "code": codes.get(a.details.get("patient"), ""),
            "reason": reason,
            # Reviewing an access means reading its reason: the referent's, not the administrator's.
            "can_acknowledge": can_review or not break_glass,
        }

    return render(request, "audit/alerts.html", {
        "pending": [card(a) for a in pending],
        "done": [card(a) for a in done],
        "form": AcknowledgeForm(),
    })


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, public_id: Any) -> HttpResponse:
    records.require(request.user, Cap.JOURNAL_VIEW)
    alert = Alert.objects.filter(public_id=public_id).first()
    if alert is None:
        raise Http404
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Indiquez en commentaire ce qui a été vérifié."))
        return redirect("alert_list")
    try:
        actions.acknowledge_alert(actor=request.user, alert=alert, comment=form.cleaned_data["comment"])
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Alerte acquittée."))
    return redirect("alert_list")


# --- The patient's access report -----------------------------------------------------------

@login_required
@require_GET
def patient_access_report(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient(user, public_id, Cap.MEDICAL_VIEW)
    journal.record(Ev.ACCESS_REPORT_VIEWED, actor=user, target=patient)
    rows = report.access_rows(patient, reasons=records.reads_break_glass_reasons(user, patient))
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(request, "audit/access_report.html", {"patient": patient, "page": page})


@login_required
@require_GET
def patient_access_report_pdf(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient(user, public_id, Cap.MEDICAL_VIEW)
    rows = report.access_rows(patient, reasons=records.reads_break_glass_reasons(user, patient))
    journal.record(Ev.ACCESS_REPORT_EXPORTED, actor=user, target=patient, details={"rows": len(rows)})
    practice = Practice.current()
    pdf = report.access_report_pdf(
        rows=rows,
        patient_name=patient.display_name,
        patient_code=patient.code,
        birth_date=patient.birth_date,
        practice_name=practice.name if practice else "",
        practitioner_name=user.display_name,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    # A neutral name: the file ends up in a downloads folder.
    response["Content-Disposition"] = f'attachment; filename="acces-dossier-{patient.code}.pdf"'
    return response

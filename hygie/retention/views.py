"""Retention pages (docs/retention.md). Thin: fetch through hygie.access.records, change through
hygie.retention.actions. Names travel in POST bodies and pages, never in URLs or the journal."""

from __future__ import annotations

from datetime import date
from typing import Any

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hygie.access import records
from hygie.access.policy import Cap
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.lib import retention as rules
from hygie.patients.search import search
from hygie.retention import actions, forms
from hygie.web.forms import show_refusal

MAX_RESULTS = 50
MONTHS_AHEAD = 24


# --- Conservation (counts) ------------------------------------------------------------------

def _months(today: date) -> list[date]:
    first = today.replace(day=1)
    return [rules.add_months(first, n) for n in range(MONTHS_AHEAD + 1)]


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.RETENTION_COUNTS)
    months = _months(timezone.localdate())
    data = records.retention_overview(user, months)
    manage = records.can(user, Cap.RETENTION_MANAGE)
    purges = Event.objects.filter(action=Ev.RETENTION_PURGE_APPROVED)
    if manage:
        purges = purges.filter(details__practitioner=user.pk)
    last_purge = purges.order_by("-id").first()
    rows = [(m, data["by_month"].get(m, 0)) for m in months[:-1]]
    journal.record(Ev.RETENTION_VIEWED, actor=user, details={"counts_only": not manage})
    return render(
        request,
        "retention/overview.html",
        {
            "manage": manage,
            "rows": rows,
            "peak": max([n for _, n in rows] or [0]) or 1,
            "overdue": data["overdue"],
            "held": data["held"],
            "records_count": data["records"],
            "holds": list(data["holds"].select_related("patient")) if manage else None,
            "holds_count": data["holds"].count(),
            "last_purge": last_purge,
            "active_years": settings.RETENTION_ACTIVE_YEARS,
            "auto_purge": settings.RETENTION_AUTO_PURGE,
            "notice_days": rules.AUTO_PURGE_NOTICE_DAYS,
        },
    )


# --- À détruire -----------------------------------------------------------------------------

@login_required
@require_GET
def due_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.RETENTION_MANAGE)
    found = actions.due_from_state(user)
    journal.record(Ev.RETENTION_DUE, actor=user, details={"via": "web", "practitioner": user.pk, "due": len(found)})
    notices = {n.patient_id: n for n in actions.notices_for([d.patient for d in found])}
    return render(
        request,
        "retention/due.html",
        {
            "due": [(d, notices.get(d.patient.pk)) for d in found],
            "labels": rules.RULE_LABELS,
            "auto_purge": settings.RETENTION_AUTO_PURGE,
            "notice_days": rules.AUTO_PURGE_NOTICE_DAYS,
        },
    )


@login_required
@require_POST
def approve(request: HttpRequest) -> HttpResponse:
    """Approve the destruction of one listed record, or of all of them, after re-authentication."""
    # The role first: a user who may not approve is refused, not asked for their password.
    records.require(request.user, Cap.RETENTION_MANAGE)
    return _approve(request)


@reauthentication_required
def _approve(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = forms.ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Demande incomplète : rien n'a été détruit."))
        return redirect("retention_due")
    target = form.cleaned_data["target"]
    ids = None
    if target != "all":
        patient = records.get_patient_for_retention(user, target)
        ids = [patient.pk]
    try:
        done = actions.purge(actor=user, practitioner=user, patient_ids=ids, via="web")
    except actions.ActionError as exc:
        messages.error(request, str(exc))
        return redirect("retention_due")
    if done:
        messages.success(
            request,
            _("%(n)d dossier(s) détruit(s) définitivement. Le registre des effacements garde la règle et la date.")
            % {"n": len(done)},
        )
    else:
        messages.warning(request, _("Aucun dossier détruit : plus aucun n'était échu (suspension ou consultation)."))
    return redirect("retention_due")


# --- Archives -------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def archive_search(request: HttpRequest) -> HttpResponse:
    user = request.user
    records.require(user, Cap.RETENTION_MANAGE)
    form = forms.ArchiveSearchForm(request.POST or None)
    results = None
    more = False
    if request.method == "POST" and form.is_valid():
        found = search(records.archive_candidates(user), form.cleaned_data["q"], limit=MAX_RESULTS)
        # The query itself is never journaled: it is patient data.
        journal.record(
            Ev.PATIENT_SEARCHED, actor=user, details={"results": len(found), "more": found.more, "archive": True}
        )
        results, more = found, found.more
    return render(
        request,
        "retention/archive_search.html",
        {
            "form": form,
            "results": results,
            "more": more,
            "max_results": MAX_RESULTS,
            "active_years": settings.RETENTION_ACTIVE_YEARS,
            "hours": settings.ARCHIVE_ACCESS_HOURS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def archive_open(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient_for_retention(user, public_id)
    if records.patient_scope(user).filter(pk=patient.pk).exists():
        # In the active base, or opened already: nothing to ask.
        return redirect("patient_detail", public_id=patient.public_id)
    form = forms.ArchiveOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.open_archive(actor=user, patient=patient, reason=form.cleaned_data["reason"])
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            messages.warning(request, _("Dossier archivé ouvert. L'ouverture est enregistrée dans le journal."))
            return redirect("patient_detail", public_id=patient.public_id)
    return render(
        request,
        "retention/archive_open.html",
        {"form": form, "patient": patient, "hours": settings.ARCHIVE_ACCESS_HOURS},
    )


# --- Legal holds ----------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def hold_create(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    patient = records.get_patient_for_retention(user, public_id)
    form = forms.HoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.set_hold(
                actor=user,
                patient=patient,
                started_on=data["started_on"],
                ended_on=data.get("ended_on"),
                reason=data["reason"],
            )
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request, _("Conservation suspendue : ce dossier ne sera pas détruit pendant la réclamation.")
            )
            return _back_to(user, patient)
    return render(request, "retention/hold_form.html", {"form": form, "patient": patient})


@login_required
@require_http_methods(["GET", "POST"])
def hold_lift(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = request.user
    hold = records.get_hold(user, public_id)
    form = forms.LiftHoldForm(request.POST or None, initial={"ended_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            actions.lift_hold(actor=user, hold=hold, ended_on=form.cleaned_data["ended_on"])
        except actions.ActionError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Suspension levée : la durée de conservation reprend, prolongée d'autant."))
            return _back_to(user, hold.patient)
    return render(request, "retention/hold_lift.html", {"form": form, "hold": hold, "patient": hold.patient})


def _back_to(user: Any, patient: Any) -> HttpResponse:
    if records.patient_scope(user).filter(pk=patient.pk).exists():
        return redirect("patient_detail", public_id=patient.public_id)
    return redirect("retention")

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hygie.access import records
from hygie.access.policy import Cap, Role
from hygie.accounts import session
from hygie.approvals.views import dashboard_context as grants_context
from hygie.audit import alerts, journal
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups import status as backup_status
from hygie.backups import targets
from hygie.checklist import board as checklist_board
from hygie.compliance import dashboard as compliance_dashboard
from hygie.incidents.views import dashboard_context as incidents_context
from hygie.psc import config as psc_config
from hygie.psc.models import PscLink
from hygie.rights.views import dashboard_context as rights_context


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    logins = list(
        Event.objects.filter(actor=user, action=Ev.LOGIN_SUCCEEDED).order_by("-id").values("at", "ip")[:2]
    )
    previous = logins[1] if len(logins) > 1 else None
    failures = 0
    if previous:
        failures = Event.objects.filter(
            action=Ev.LOGIN_FAILED, target_type="accounts.user", target_id=str(user.pk), at__gt=previous["at"]
        ).count()
    today = timezone.localdate()
    appointments = []
    if records.can(user, Cap.AGENDA_VIEW):
        appointments = list(records.agenda_scope(user).filter(start__date=today).order_by("start")[:30])
    unpaid = None
    if records.can(user, Cap.BILLING_VIEW):
        unpaid = records.billing_scope(user).filter(paid=False).count()
    patients_count = None
    if records.can(user, Cap.PATIENT_LIST):
        patients_count = records.patient_scope(user).count()
    alerts_count, latest_alerts = 0, []
    if records.can(user, Cap.JOURNAL_VIEW):
        pending = alerts.open_alerts().order_by("-created_at", "-id")
        alerts_count = pending.count()
        latest_alerts = list(pending[:5])
    now = timezone.now()
    backup_items, backup_warnings = None, []
    watches_backups = records.can(user, Cap.BACKUPS_MANAGE) or records.can(user, Cap.JOURNAL_VIEW)
    sees_checklist = records.can(user, Cap.CHECKLIST_VIEW)
    # Read once for the backups panel and the checklist's backup rows.
    backups_now = backup_status.summary(now) if watches_backups or sees_checklist else None
    if watches_backups:
        # The administrator runs them; the referent (security and GDPR) watches that they happen.
        backup_items = backups_now
        backup_warnings = targets.warnings()
    # A locum sees whom they replace and until when (their reach ends with it).
    replacements = []
    if user.role == Role.REMPLACANT:
        replacements = list(user.replacements_active_at().select_related("titulaire").order_by("ends_at"))
    checklist = None
    if sees_checklist:
        checklist = checklist_board.evaluate(now, backups=backups_now)
    return render(
        request,
        "web/dashboard.html",
        {
            "checklist": checklist,
            "replacements": replacements,
            "previous_login": previous,
            "failures_since": failures,
            "appointments": appointments,
            "unpaid": unpaid,
            "patients_count": patients_count,
            "can_see_names": records.can(user, Cap.PATIENT_IDENTITY_VIEW),
            "alerts_count": alerts_count,
            "alerts": latest_alerts,
            "backup_items": backup_items,
            "backup_late": backup_items is not None and backup_status.any_late(backup_items),
            "backup_warnings": backup_warnings,
            **grants_context(user, previous["at"] if previous else None),
            **incidents_context(user),
            **rights_context(user),
            **compliance_dashboard.context(user),
        },
    )


@login_required
@require_GET
def session_locked(request: HttpRequest) -> HttpResponse:
    # Where the unlock leads: the page the user was on (same origin only), else the dashboard.
    back = session.return_path(request, request.GET.get("next")) or reverse("dashboard")
    if session.locked_at(request) is None:
        return redirect(back)
    unlock_url = f"{reverse('account_reauthenticate')}?{urlencode({'next': back})}"
    # A PSC-linked account may unlock with a fresh PSC authentication (same professional only:
    # hygie.psc.actions), instead of a Hygie password it may not even have.
    psc_unlock = psc_config.enabled() and PscLink.objects.filter(user=request.user).exists()
    return render(request, "web/locked.html", {"unlock_url": unlock_url, "back": back, "psc_unlock": psc_unlock})


@login_required
@require_POST
def lock_now(request: HttpRequest) -> HttpResponse:
    if session.locked_at(request) is None:
        session.lock(request)
        journal.record(Ev.SESSION_LOCKED, actor=request.user, target=request.user)
    if request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"locked": True})
    # The "Verrouiller" button (without JavaScript) sends the page it was on.
    back = session.return_path(request, request.POST.get("next")) or session.page_left(request)
    return redirect(session.locked_url(back))


@login_required
@require_POST
def heartbeat(request: HttpRequest) -> HttpResponse:
    # The session guard has already refreshed the activity time (or answered 423 if locked).
    return JsonResponse({"locked": False})


@login_required
@require_GET
def second_factor_required(request: HttpRequest) -> HttpResponse:
    return render(request, "web/second_factor_required.html")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/error.html", {"code": 403}, status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/error.html", {"code": 404}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "web/error.html", {"code": 500}, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "web/error.html", {"code": 403, "csrf": True}, status=403)

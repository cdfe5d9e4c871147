from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Subquery
from django.db.models.expressions import BaseExpression
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hygie.access import records
from hygie.access.policy import Cap, Role
from hygie.accounts import session
from hygie.approvals.views import dashboard_context as grants_context
from hygie.approvals.views import dashboard_reads as grants_reads
from hygie.audit import alerts, journal
from hygie.audit.events import Ev
from hygie.audit.models import Event, logins_of
from hygie.backups import status as backup_status
from hygie.backups import targets
from hygie.checklist import board as checklist_board
from hygie.compliance import dashboard as compliance_dashboard
from hygie.core import onerow
from hygie.core.readviews import read_page
from hygie.incidents.views import dashboard_context as incidents_context
from hygie.incidents.views import dashboard_reads as incidents_reads
from hygie.psc import config as psc_config
from hygie.psc.models import PscLink
from hygie.rights.views import dashboard_context as rights_context
from hygie.rights.views import dashboard_reads as rights_reads


def _login_reads(user_id: int) -> dict[str, BaseExpression]:
    """The login before this session's, and the failed attempts on this account since it."""
    previous_at = Subquery(logins_of(user_id).values("at")[1:2])
    failed = Event.objects.filter(
        action=Ev.LOGIN_FAILED, target_type="accounts.user", target_id=str(user_id), at__gt=previous_at
    )
    return {
        "previous_at": previous_at,
        "previous_ip": Subquery(logins_of(user_id).values("ip")[1:2]),
        "failures": onerow.CountOf(failed.values("id")),
    }


def _alerts_count() -> dict[str, BaseExpression]:
    return {"alerts_count": onerow.CountOf(alerts.open_alerts().values("id"))}


@login_required
@require_GET
@read_page
def dashboard(request: HttpRequest) -> HttpResponse:
    """Every panel's single values (counts, the previous login, whether a list has anything
    to show, the backups' and the checklist's own) are read in one statement
    (hygie.core.onerow); a list is read only when there is something in it."""
    user = request.user
    now = timezone.now()
    today = timezone.localdate()
    sees_agenda = records.can(user, Cap.AGENDA_VIEW)
    sees_journal = records.can(user, Cap.JOURNAL_VIEW)
    watches_backups = records.can(user, Cap.BACKUPS_MANAGE) or sees_journal
    sees_checklist = records.can(user, Cap.CHECKLIST_VIEW)
    # Compiled once per process (onerow.frozen): the ORM's compilation cost more than the reads.
    reads = onerow.frozen(_login_reads, user.pk)
    reads.update(records.dashboard_reads(user, today))
    if sees_journal:
        reads.update(onerow.frozen(_alerts_count))
    if sees_checklist:
        reads.update(checklist_board.reads(now))
    elif watches_backups:
        reads.update(backup_status.reads())
    if watches_backups:
        reads.update(targets.warnings_reads())
    reads.update(grants_reads(user, now))
    reads.update(incidents_reads(user))
    reads.update(rights_reads(user))
    read = onerow.read(reads)

    previous = {"at": read["previous_at"], "ip": read["previous_ip"]} if read["previous_at"] is not None else None
    appointments = []
    if sees_agenda and read["any_appointment"]:
        appointments = records.agenda_of_day(user, today)
    alerts_count, latest_alerts = 0, []
    if sees_journal:
        alerts_count = read["alerts_count"]
        if alerts_count:
            latest_alerts = list(alerts.open_alerts().order_by("-created_at", "-id")[:5])
    backup_items, backup_warnings = None, []
    # Read once for the backups panel and the checklist's backup rows.
    backups_now = backup_status.summary(now, read) if watches_backups or sees_checklist else None
    if watches_backups:
        # The administrator runs them; the referent (security and GDPR) watches that they happen.
        backup_items = backups_now
        backup_warnings = targets.warnings(read)
    # A locum sees whom they replace and until when (their reach ends with it).
    replacements = []
    if user.role == Role.REMPLACANT:
        replacements = list(user.replacements_active_at().select_related("titulaire").order_by("ends_at"))
    checklist = None
    if sees_checklist:
        checklist = checklist_board.evaluate(now, backups=backups_now, read=read, history=False)
    return render(
        request,
        "web/dashboard.html",
        {
            "checklist": checklist,
            "replacements": replacements,
            "previous_login": previous,
            "failures_since": read["failures"] if previous else 0,
            "appointments": appointments,
            "unpaid": read.get("unpaid"),
            "patients_count": read.get("patients_count"),
            "can_see_names": records.can(user, Cap.PATIENT_IDENTITY_VIEW),
            "alerts_count": alerts_count,
            "alerts": latest_alerts,
            "backup_items": backup_items,
            "backup_late": backup_items is not None and backup_status.any_late(backup_items),
            "backup_warnings": backup_warnings,
            **grants_context(user, now, read["previous_at"], read),
            **incidents_context(user, read),
            **rights_context(user, read),
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

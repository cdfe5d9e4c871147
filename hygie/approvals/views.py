"""Requests to approve: the titulaire concerned, or the referent after the delay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from allauth.account.decorators import reauthentication_required
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import DateTimeField, Exists, QuerySet, Subquery, Value
from django.db.models.expressions import BaseExpression
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from hygie.access import records
from hygie.access.policy import Cap, Role
from hygie.accounts.models import Replacement
from hygie.approvals import actions
from hygie.approvals.models import OPEN, DecidedAs, GrantRequest, Kind, Status
from hygie.audit.models import logins_of
from hygie.core import frozen, onerow

RECENT_DAYS = 30


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("refuse", "refuse")])


def visible_requests(user: Any) -> QuerySet[GrantRequest]:
    """The requests a user may look at: the titulaire those concerning them, the referent all."""
    if not records.can(user, Cap.GRANTS_DECIDE):
        return GrantRequest.objects.none()
    qs = GrantRequest.objects.select_related("account", "titulaire", "requested_by", "decided_by")
    if user.role == Role.REFERENT:
        return qs
    return qs.filter(titulaire=user)


def _get(user: Any, public_id: Any) -> GrantRequest:
    req = visible_requests(user).filter(public_id=public_id).first()
    if req is None:
        raise Http404
    return req


@login_required
@require_GET
def grant_list(request: HttpRequest) -> HttpResponse:
    records.require(request.user, Cap.GRANTS_DECIDE)
    qs = visible_requests(request.user)
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    return render(
        request,
        "approvals/grant_list.html",
        {
            "pending": qs.filter(status__in=OPEN).order_by("created_at"),
            "recent": qs.exclude(status__in=OPEN).filter(created_at__gte=since)[:50],
        },
    )


@login_required
@require_GET
def grant_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    records.require(request.user, Cap.GRANTS_DECIDE)
    req = _get(request.user, public_id)
    account = req.account
    return render(
        request,
        "approvals/grant_detail.html",
        {
            "req": req,
            "batch": GrantRequest.objects.filter(batch=req.batch).exclude(pk=req.pk).select_related("titulaire"),
            "cannot_approve": actions.approval_refusal(request.user, req),
            "may_refuse": actions.may_refuse(request.user, req),
            "account_has_factor": Authenticator.objects.filter(user=account).exists(),
            "period": _period(req),
        },
    )


def _period(req: GrantRequest) -> tuple[datetime, datetime] | None:
    if req.kind != Kind.REPLACEMENT:
        return None
    return datetime.fromisoformat(req.payload["starts_at"]), datetime.fromisoformat(req.payload["ends_at"])


@login_required
@require_POST
def grant_decide(request: HttpRequest, public_id: Any) -> HttpResponse:
    # The role (403), then the request (404), then a fresh proof of identity.
    records.require(request.user, Cap.GRANTS_DECIDE)
    _get(request.user, public_id)
    return _decide(request, public_id)


@reauthentication_required
def _decide(request: HttpRequest, public_id: Any) -> HttpResponse:
    req = _get(request.user, public_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez d'approuver ou de refuser."))
        return redirect("grant_detail", public_id=req.public_id)
    try:
        if form.cleaned_data["decision"] == "approve":
            actions.approve(actor=request.user, req=req)
            messages.success(request, _("Demande approuvée."))
        else:
            actions.refuse(actor=request.user, req=req)
            messages.success(request, _("Demande refusée : rien n'a été changé."))
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    return redirect("grant_detail", public_id=req.public_id)


def _dashboard_lists(
    user_id: int, now: datetime, since: datetime, away_since: Any, *, everyone: bool, titulaire: bool
) -> dict[str, QuerySet[Any]]:
    """The dashboard's lists (unsliced), as `visible_requests` sees them (`everyone`: the
    referent). `since`: the start of the recent days; `away_since`: from when a grant decided by
    the referent is shown — the previous login (a moment, or an expression of it) or `since`.
    Only values reach the ORM, nothing computed from them: the dashboard compiles these once
    per process (hygie.core.frozen)."""
    qs = GrantRequest.objects.select_related("account", "titulaire", "requested_by", "decided_by")
    if not everyone:
        qs = qs.filter(titulaire_id=user_id)
    lists: dict[str, QuerySet[Any]] = {"grant_pending": qs.filter(status__in=OPEN).order_by("created_at")}
    if titulaire:
        lists["grant_replacements"] = (
            Replacement.objects.filter(titulaire_id=user_id, ends_at__gt=now, ended_early_at__isnull=True)
            .select_related("remplacant")
            .order_by("starts_at")
        )
        lists["grant_recent"] = (
            qs.filter(status=Status.APPLIED, decided_at__gte=since)
            .exclude(kind=Kind.REPLACEMENT)
            .order_by("-decided_at")
        )
        lists["grant_while_away"] = (
            qs.filter(decided_as=DecidedAs.REFERENT).exclude(status__in=OPEN)
            .filter(decided_at__gte=away_since)
            .order_by("-decided_at")
        )
    return lists


_DASHBOARD_LIMITS = {"grant_pending": 20, "grant_replacements": None, "grant_recent": 10, "grant_while_away": 10}


def _flags(user_id: int, now: datetime, since: datetime, *, everyone: bool, titulaire: bool) -> dict[str, Any]:
    # Since the previous login when there was one, else over the recent days.
    previous = Subquery(logins_of(user_id).values("at")[1:2])
    away_since = Coalesce(previous, Value(since, output_field=DateTimeField()))
    lists = _dashboard_lists(user_id, now, since, away_since, everyone=everyone, titulaire=titulaire)
    return {f"{name}_any": Exists(qs) for name, qs in lists.items()}


def _list(user_id: int, now: datetime, since: datetime, away_since: datetime, *, name: str, everyone: bool,
          titulaire: bool) -> QuerySet[Any]:
    qs = _dashboard_lists(user_id, now, since, away_since, everyone=everyone, titulaire=titulaire)[name]
    limit = _DASHBOARD_LIMITS[name]
    return qs[:limit] if limit else qs


def _who(user: Any) -> dict[str, bool]:
    return {"everyone": user.role == Role.REFERENT, "titulaire": user.role == Role.TITULAIRE}


def dashboard_reads(user: Any, now: datetime) -> dict[str, BaseExpression]:
    """Whether each dashboard list has anything to show, for the dashboard's single read
    (hygie.core.onerow): an empty list costs no query of its own. Compiled once per process."""
    if not records.can(user, Cap.GRANTS_DECIDE):
        return {}
    return dict(frozen.expressions(_flags, user.pk, now, now - timedelta(days=RECENT_DAYS), **_who(user)))


def dashboard_context(user: Any, now: datetime, previous_login_at: datetime | None,
                      read: dict[str, Any] | None = None) -> dict[str, Any]:
    """For the dashboard: requests to decide, grants in force over the titulaire's patients, and
    what was approved in their place (highlighted when it happened since their last login).
    `read`: the values of `dashboard_reads` (else read here). A list is read only when its flag
    says it has something."""
    if not records.can(user, Cap.GRANTS_DECIDE):
        return {}
    read = read if read is not None else onerow.read(dashboard_reads(user, now))
    since = now - timedelta(days=RECENT_DAYS)
    away_since = previous_login_at if previous_login_at is not None else since
    who = _who(user)
    names = ["grant_pending"] + (["grant_replacements", "grant_recent", "grant_while_away"] if who["titulaire"] else [])
    return {
        name: list(frozen.queryset(_list, user.pk, now, since, away_since, name=name, **who))
        if read[f"{name}_any"] else []
        for name in names
    }

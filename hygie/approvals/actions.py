"""Requests that would open a titulaire's medical data: ask, approve, refuse, expire, apply.

Each step writes its journal event in its transaction. Nothing of the request takes effect before
every titulaire concerned has approved it (hygie.accounts.actions calls `request_grant` instead of
changing the account; `approve` applies it through the `apply_*` functions there).

Who decides (docs/permissions.md, « Ce qui ouvre les données médicales d'un titulaire »):
- the titulaire concerned, after re-authentication, at any time;
- the referent in their place, only once `HYGIE_GRANT_FALLBACK_HOURS` have passed since the
  request, the titulaire having been told (e-mail, dashboard) and able to refuse meanwhile. When
  the request is about the titulaire's own account (their credentials, their return), it is the
  only way: one cannot vouch for oneself after losing one's credentials;
- never the requester, never the account that would gain the access.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.access.policy import Role
from hygie.accounts.models import User
from hygie.approvals.models import OPEN, DecidedAs, GrantRequest, Kind, Status
from hygie.audit import journal
from hygie.audit.events import Ev

logger = logging.getLogger(__name__)


class ActionError(Exception):
    """A refused step. The message is French and safe to show: it names no patient."""


def _details(req: GrantRequest, **extra: Any) -> dict[str, Any]:
    return {
        "request": str(req.public_id),
        "kind": req.kind,
        "account": req.account_id,
        "titulaire": req.titulaire_id,
        **extra,
    }


def _referents(excluding: list[int]) -> Any:
    return User.objects.filter(role=Role.REFERENT, is_active=True).exclude(pk__in=excluding)


@transaction.atomic
def request_grant(
    *, kind: str, actor: Any, account: User, titulaires: list[int], payload: dict[str, Any] | None = None
) -> GrantRequest:
    """Ask each titulaire in `titulaires` (ids) to approve `kind` on `account`. Returns the first
    row of the batch."""
    if not titulaires:
        raise ValueError("a grant request needs at least one titulaire")
    actor_id = getattr(actor, "pk", None)
    if kind != Kind.REPLACEMENT and GrantRequest.objects.filter(
        account=account, kind=kind, status__in=OPEN
    ).exists():
        raise ActionError(_("Une demande de ce type attend déjà une approbation pour ce compte."))
    needs_referent = account.pk in titulaires or User.objects.filter(
        pk__in=titulaires, is_active=False
    ).exists()
    if needs_referent and not _referents([account.pk, *([actor_id] if actor_id else [])]).exists():
        raise ActionError(
            _(
                "Cette demande ne peut être approuvée que par le référent sécurité, et le cabinet n'a pas "
                "de référent actif (autre que le demandeur) : créez d'abord son compte."
            )
        )
    now = timezone.now()
    first: GrantRequest | None = None
    batch = None
    for titulaire_id in sorted(set(titulaires)):
        req = GrantRequest(
            kind=kind,
            account=account,
            titulaire_id=titulaire_id,
            requested_by=actor if actor_id else None,
            payload=payload or {},
            created_at=now,
            fallback_at=now + timedelta(hours=settings.GRANT_FALLBACK_HOURS),
            expires_at=now + timedelta(days=settings.GRANT_REQUEST_DAYS),
        )
        if batch is not None:
            req.batch = batch
        req.save()
        batch = req.batch
        first = first or req
        journal.record(Ev.GRANT_REQUESTED, actor=actor, target=req, details=_details(req))
        transaction.on_commit(lambda r=req: _tell_titulaire_of_request(r))
    assert first is not None
    return first


# --- Who may decide ------------------------------------------------------------------------


def approval_refusal(user: Any, req: GrantRequest) -> str | None:
    """Why `user` may not approve `req` now, in French; None if they may."""
    if not req.is_open or req.status != Status.PENDING:
        return _("Cette demande n'est plus en attente.")
    if req.expires_at <= timezone.now():
        return _("Cette demande a expiré.")
    if user.pk == req.requested_by_id:
        return _("On ne peut pas approuver sa propre demande.")
    if user.pk == req.account_id:
        return _("On ne peut pas approuver un accès pour son propre compte.")
    if not user.is_active:
        return _("Compte désactivé.")
    if user.pk == req.titulaire_id and user.role == Role.TITULAIRE:
        return None
    if user.role == Role.REFERENT:
        if not req.fallback_open():
            when = timezone.localtime(req.fallback_at).strftime("%d/%m/%Y %H:%M")
            return _("Le référent ne peut approuver à la place du titulaire qu'à partir du %(when)s.") % {
                "when": when
            }
        return None
    return _("Seuls le titulaire concerné, ou le référent après le délai, approuvent cette demande.")


def may_refuse(user: Any, req: GrantRequest) -> bool:
    """The titulaire concerned (even for their own credentials) and the referent may refuse."""
    if not req.is_open or not user.is_active:
        return False
    return (user.pk == req.titulaire_id) or user.role == Role.REFERENT


def _decided_as(user: Any, req: GrantRequest) -> str:
    return DecidedAs.TITULAIRE if user.pk == req.titulaire_id else DecidedAs.REFERENT


# --- Deciding ------------------------------------------------------------------------------


def _lock_batch(req: GrantRequest) -> list[GrantRequest]:
    return list(GrantRequest.objects.select_for_update().filter(batch=req.batch).order_by("id"))


@transaction.atomic
def approve(*, actor: Any, req: GrantRequest) -> GrantRequest:
    """Approve one titulaire's part; once every part is approved, apply the change."""
    batch = _lock_batch(req)
    req = next(r for r in batch if r.pk == req.pk)
    reason = approval_refusal(actor, req)
    if reason:
        raise ActionError(reason)
    now = timezone.now()
    req.status, req.decided_at, req.decided_by = Status.APPROVED, now, actor
    req.decided_as = _decided_as(actor, req)
    req.save(update_fields=["status", "decided_at", "decided_by", "decided_as"])
    journal.record(Ev.GRANT_APPROVED, actor=actor, target=req, details=_details(req, **{"as": req.decided_as}))
    if req.decided_as == DecidedAs.REFERENT:
        transaction.on_commit(lambda: _tell_titulaire_of_fallback(req))
    if all(r.status == Status.APPROVED for r in batch):
        _apply(req, batch)
    return req


@transaction.atomic
def refuse(*, actor: Any, req: GrantRequest) -> GrantRequest:
    """Refuse the request: nothing of it is applied, for any titulaire of the batch."""
    batch = _lock_batch(req)
    req = next(r for r in batch if r.pk == req.pk)
    if not may_refuse(actor, req):
        raise ActionError(_("Vous ne pouvez pas refuser cette demande."))
    now = timezone.now()
    for row in batch:
        if row.is_open:
            row.status = Status.REFUSED
            row.payload = _without_secrets(row.payload)
            if row.pk == req.pk:
                row.decided_at, row.decided_by, row.decided_as = now, actor, _decided_as(actor, row)
            row.save(update_fields=["status", "payload", "decided_at", "decided_by", "decided_as"])
            journal.record(Ev.GRANT_REFUSED, actor=actor, target=row, details=_details(row))
    req.refresh_from_db()
    return req


@transaction.atomic
def expire_due(now: datetime | None = None) -> int:
    """Close the open requests past their expiry (or whose replacement is already over)."""
    now = now or timezone.now()
    due = []
    for row in GrantRequest.objects.select_for_update().filter(status__in=OPEN).order_by("id"):
        ends = row.payload.get("ends_at") if row.kind == Kind.REPLACEMENT else None
        if row.expires_at <= now or (ends and datetime.fromisoformat(ends) <= now):
            due.append(row.batch)
    count = 0
    for row in GrantRequest.objects.filter(batch__in=set(due), status__in=OPEN).order_by("id"):
        row.status = Status.EXPIRED
        row.payload = _without_secrets(row.payload)
        row.save(update_fields=["status", "payload"])
        journal.record(Ev.GRANT_EXPIRED, target=row, details=_details(row))
        count += 1
    return count


def _without_secrets(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "password"}


def _apply(req: GrantRequest, batch: list[GrantRequest]) -> None:
    from hygie.accounts import actions as accounts

    account = User.objects.select_for_update().get(pk=req.account_id)
    actor = req.requested_by
    ref = str(req.public_id)
    try:
        if req.kind == Kind.REPLACEMENT:
            accounts.apply_replacement(
                actor=actor,
                remplacant=account,
                titulaire=req.titulaire,
                starts_at=datetime.fromisoformat(req.payload["starts_at"]),
                ends_at=datetime.fromisoformat(req.payload["ends_at"]),
                request=ref,
            )
        elif req.kind == Kind.PASSWORD:
            accounts.apply_password(actor=actor, user=account, encoded=req.payload["password"], request=ref)
        elif req.kind == Kind.MFA:
            accounts.apply_second_factor_reset(actor=actor, user=account, request=ref)
        elif req.kind == Kind.ROLE:
            accounts.apply_role(actor=actor, user=account, role=req.payload["role"], request=ref)
        elif req.kind == Kind.REACTIVATION:
            accounts.apply_reactivation(actor=actor, user=account, request=ref)
        elif req.kind == Kind.PSC:
            from hygie.psc import actions as psc_actions

            try:
                psc_actions.apply_link(
                    actor=actor, user=account, national_id=req.payload["national_id"],
                    psc_only=bool(req.payload.get("psc_only")), request=ref,
                )
            except psc_actions.ActionError as exc:
                raise accounts.ActionError(str(exc)) from None
        else:  # pragma: no cover - a kind without its applier is a programming error
            raise ValueError(req.kind)
    except accounts.ActionError as exc:
        raise ActionError(
            _("La demande ne peut plus s'appliquer (%(why)s) : refusez-la et faites-en une nouvelle.")
            % {"why": str(exc).rstrip(".")}
        ) from None
    for row in batch:
        row.status = Status.APPLIED
        row.payload = _without_secrets(row.payload)
        row.save(update_fields=["status", "payload"])
        journal.record(Ev.GRANT_APPLIED, actor=row.decided_by, target=row, details=_details(row))


# --- Telling the titulaire -----------------------------------------------------------------


def _mail(user: User, subject: str, body: str, req: GrantRequest) -> None:
    if not user.email:
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except Exception:  # the dashboard shows it anyway; a mail server down must not undo the request
        logger.warning("grant request email not sent (request %s)", req.public_id, exc_info=True)


def _link(req: GrantRequest) -> str:
    return settings.BASE_URL + reverse("grant_detail", kwargs={"public_id": req.public_id})


def _tell_titulaire_of_request(req: GrantRequest) -> None:
    if req.self_concerned:
        intro = _(
            "Une demande concernant votre propre compte Hygie a été faite : %(kind)s.\n"
            "Si elle aboutit, la personne qui détient les nouveaux identifiants accédera à vos dossiers.\n"
            "Le référent sécurité pourra l'approuver à partir du %(when)s. Si vous n'en êtes pas à "
            "l'origine, refusez-la dès maintenant depuis votre tableau de bord."
        )
    else:
        intro = _(
            "Une demande d'accès aux dossiers de vos patients attend votre approbation : %(kind)s "
            "pour le compte de %(account)s.\nSans réponse de votre part, le référent sécurité pourra "
            "l'approuver à votre place à partir du %(when)s."
        )
    body = (intro % {
        "kind": req.get_kind_display(),
        "account": req.account.display_name,
        "when": timezone.localtime(req.fallback_at).strftime("%d/%m/%Y %H:%M"),
    }) + "\n\n" + _link(req) + "\n"
    _mail(req.titulaire, _("[Hygie] Demande d'accès à approuver"), body, req)


def _tell_titulaire_of_fallback(req: GrantRequest) -> None:
    body = _(
        "Le référent sécurité a approuvé à votre place : %(kind)s pour le compte de %(account)s.\n"
        "Si vous n'étiez pas au courant, prévenez le référent et l'administrateur sans attendre.\n\n"
    ) % {"kind": req.get_kind_display(), "account": req.account.display_name} + _link(req) + "\n"
    _mail(req.titulaire, _("[Hygie] Accès approuvé en votre absence"), body, req)

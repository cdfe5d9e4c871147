"""Pro Santé Connect: log a linked professional in, refuse the rest, link and unlink accounts.

Each step writes its journal event (the channel and the assurance level, never a token, never
a name) in its transaction. Linking an account that reaches a titulaire's patients is a new way
into those records: it is only a request until the titulaire approves it (hygie.approvals).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from allauth.account.utils import perform_login
from allauth.socialaccount.internal.flows.login import record_authentication
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.contrib.auth import logout
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from hygie.access import records
from hygie.accounts import session
from hygie.accounts.models import User
from hygie.approvals import actions as approvals
from hygie.approvals.models import GrantRequest, Kind
from hygie.audit import journal
from hygie.audit.events import Ev, Outcome
from hygie.lib import psc
from hygie.psc.models import PscLink, PscUnknownAttempt

logger = logging.getLogger(__name__)

# Set on the request before Django's login(): hygie.accounts.signals journals it with the login
# and keeps it in the session (hygie.accounts.session.CHANNEL).
LOGIN_CHANNEL = "_hygie_login_channel"
# In the session: the ID token, sent back as id_token_hint when logout also ends the PSC session.
ID_TOKEN_HINT = "hygie.psc.id_token_hint"  # noqa: S105 (a session key)
UNKNOWN_KEPT_DAYS = 30

# Why a PSC login was refused, in French, for the page (the reason tag goes to the journal).
MESSAGES = {
    "acr": _lazy("Pro Santé Connect n'a pas confirmé une authentification forte (e-CPS ou carte CPS) : "
             "reconnectez-vous avec votre e-CPS ou votre carte CPS."),
    "audience": _lazy("La réponse de Pro Santé Connect ne s'adressait pas à ce cabinet : connexion refusée."),
    "expired": _lazy("La réponse de Pro Santé Connect a expiré : recommencez la connexion."),
    "signature": _lazy("La signature de la réponse de Pro Santé Connect n'est pas valide : connexion refusée."),
    "issuer": _lazy("La réponse ne vient pas du service Pro Santé Connect configuré : connexion refusée."),
    "nonce": _lazy("Cette réponse de Pro Santé Connect a déjà servi ou ne correspond pas à votre demande : "
               "recommencez la connexion."),
    "state": _lazy("Cette connexion Pro Santé Connect a déjà été utilisée ou a expiré : recommencez depuis "
               "la page de connexion."),
    "cancelled": _lazy("Connexion Pro Santé Connect annulée."),
    "claims": _lazy("Pro Santé Connect n'a pas transmis votre identifiant national : connexion refusée."),
    "process": _lazy("Un compte ne se relie à Pro Santé Connect que par l'administrateur du cabinet."),
    "account": _lazy("Ce compte ne peut pas se connecter pour le moment (désactivé, ou en dehors des dates de "
                 "remplacement) : adressez-vous à l'administrateur du cabinet."),
    "unavailable": _lazy("Pro Santé Connect ne répond pas pour le moment : réessayez, ou connectez-vous "
                     "avec votre identifiant et votre mot de passe si vous en avez un."),
    "error": _lazy("La connexion avec Pro Santé Connect a échoué : recommencez depuis la page de connexion."),
    "unlock": _lazy("Cette carte ou cette e-CPS n'est pas celle du professionnel de cette session : la session "
                "reste verrouillée. Changez d'utilisateur pour vous connecter avec la vôtre."),
}


def reason_of(error: Any, exception: Any) -> str:
    from hygie.psc.oidc.views import Refused  # requests: see hygie.psc.oidc.urls

    if isinstance(exception, Refused):
        return exception.reason
    if str(error) == "cancelled":
        return "cancelled"
    if exception is None:
        return "state"  # allauth found no state for this answer: replayed, or expired
    name = type(exception).__module__
    if name.startswith("requests"):
        return "unavailable"
    return "error"


def refuse(request: HttpRequest, reason: str, target: Any = None) -> HttpResponse:
    if reason not in MESSAGES:
        reason = "error"
    journal.record(
        Ev.PSC_LOGIN_REFUSED, target=target, outcome=Outcome.DENIED, actor_role="",
        details={"channel": "psc", "reason": reason},
    )
    return render(request, "psc/refused.html", {"message": MESSAGES[reason]}, status=403)


def complete_psc_login(request: HttpRequest, sociallogin: SocialLogin) -> HttpResponse:
    """Called once PSC's answer passed every check (hygie.psc.oidc.views): log the linked
    account in, both factors satisfied by eidas1, or refuse."""
    from hygie.psc.oidc.views import VERIFIED  # requests: see hygie.psc.oidc.urls

    if sociallogin.state.get("process", AuthProcess.LOGIN) != AuthProcess.LOGIN:
        return refuse(request, "process")
    verified = getattr(request, VERIFIED, None)
    if not verified or not psc.strong_enough(verified.get("acr")):
        return refuse(request, "acr")
    data = sociallogin.account.extra_data or {}
    try:
        who = psc.professional(data.get("userinfo") or data)
    except psc.ClaimsError:
        return refuse(request, "claims")
    link = PscLink.objects.select_related("user").filter(national_id=who.national_id).first()
    if request.user.is_authenticated and session.locked_at(request) is not None:
        return _unlock(request, sociallogin, link, verified)
    if link is None:
        attempt = _remember_unknown(who)
        journal.record(
            Ev.PSC_LOGIN_UNKNOWN, outcome=Outcome.DENIED, actor_role="",
            details={"channel": "psc", "acr": verified["acr"], "attempt": attempt.pk},
        )
        return render(request, "psc/unknown.html", {}, status=403)
    user = link.user
    if not user.can_sign_in_at():
        return refuse(request, "account", target=user)
    PscLink.objects.filter(pk=link.pk).update(
        given_name=who.given_name, family_name=who.family_name, profession_code=who.profession_code,
        last_login_at=timezone.now(),
    )
    if request.user.is_authenticated:
        logout(request)  # as allauth does: a new login replaces any session of this browser
    sociallogin.user = user
    setattr(request, LOGIN_CHANNEL, {"channel": "psc", "acr": verified["acr"]})
    record_authentication(request, sociallogin)
    response: HttpResponse = perform_login(
        request, user, email_verification="none", redirect_url=sociallogin.get_redirect_url(request),
        signal_kwargs={"sociallogin": sociallogin},
    )
    if request.user.is_authenticated:
        request.session[ID_TOKEN_HINT] = verified["id_token"]
    return response


def _unlock(request: HttpRequest, sociallogin: SocialLogin, link: PscLink | None, verified: dict) -> HttpResponse:
    """A locked session (idle lock) unlocked by a fresh PSC authentication: only by the
    professional linked to this very account (same SubjectNameID). Anyone else is refused and
    journaled, the session stays locked, and nobody is logged in in its place."""
    user = request.user
    if link is None or link.user_id != user.pk:
        journal.record(
            Ev.PSC_UNLOCK_REFUSED, actor=user, target=user, outcome=Outcome.DENIED,
            details={"channel": "psc", "acr": verified["acr"], "linked": link is not None},
        )
        return render(request, "psc/refused.html", {"message": MESSAGES["unlock"], "locked": True}, status=403)
    # The same record as a login (method "socialaccount", now): the session guard sees a fresh
    # authentication after the lock and unlocks (hygie.accounts.session.reauthenticated_since).
    record_authentication(request, sociallogin)
    session.unlock(request)
    journal.record(Ev.SESSION_UNLOCKED, actor=user, target=user, details={"channel": "psc", "acr": verified["acr"]})
    back = session.return_path(request, sociallogin.get_redirect_url(request)) or reverse("dashboard")
    return redirect(back)


def _remember_unknown(who: psc.Professional) -> PscUnknownAttempt:
    now = timezone.now()
    attempt, created = PscUnknownAttempt.objects.get_or_create(
        national_id=who.national_id,
        defaults={"given_name": who.given_name, "family_name": who.family_name,
                  "profession_code": who.profession_code, "first_seen": now, "last_seen": now},
    )
    if not created:
        PscUnknownAttempt.objects.filter(pk=attempt.pk).update(
            given_name=who.given_name, family_name=who.family_name, profession_code=who.profession_code,
            last_seen=now, attempts=attempt.attempts + 1,
        )
    return attempt


class ActionError(Exception):
    """A refused change; the message is French and safe to show."""


@transaction.atomic
def link(*, actor: Any, user: User, national_id: str, psc_only: bool = False) -> GrantRequest | None:
    """Link `user` to a PSC identity. For an account that reaches a titulaire's patients this is
    a request until every titulaire concerned approves it (hygie.approvals)."""
    normalized = psc.normalize_national_id(national_id)
    if normalized is None:
        raise ActionError(_("Identifiant national invalide : de 8 à 20 chiffres ou lettres (8 suivi du numéro RPPS)."))
    if not user.is_active:
        raise ActionError(_("Ce compte est désactivé."))
    if PscLink.objects.filter(national_id=normalized).exclude(user=user).exists():
        raise ActionError(_("Cet identifiant national est déjà relié à un autre compte."))
    reached = records.titulaires_reached_by(user)
    # Linking one's own titulaire account to one's own e-CPS still goes through the referent:
    # nobody adds a way into records by themselves alone.
    if reached:
        try:
            return approvals.request_grant(
                kind=Kind.PSC, actor=actor, account=user, titulaires=reached,
                payload={"national_id": normalized, "psc_only": bool(psc_only)},
            )
        except approvals.ActionError as exc:
            raise ActionError(str(exc)) from None
    apply_link(actor=actor, user=user, national_id=normalized, psc_only=psc_only)
    return None


def apply_link(*, actor: Any, user: User, national_id: str, psc_only: bool, request: str = "") -> PscLink:
    seen = PscUnknownAttempt.objects.filter(national_id=national_id).first()
    try:
        with transaction.atomic():
            row, _created = PscLink.objects.update_or_create(
                user=user,
                defaults={
                    "national_id": national_id, "psc_only": psc_only, "linked_by": actor,
                    "linked_at": timezone.now(),
                    "given_name": seen.given_name if seen else "", "family_name": seen.family_name if seen else "",
                    "profession_code": seen.profession_code if seen else "",
                },
            )
    except IntegrityError:
        raise ActionError(_("Cet identifiant national est déjà relié à un autre compte.")) from None
    if seen is not None:
        seen.delete()
    if psc_only:
        _drop_password(user)
    details: dict[str, Any] = {"psc_only": psc_only}
    if request:
        details["request"] = request
    journal.record(Ev.PSC_LINKED, actor=actor, target=user, details=details)
    return row


@transaction.atomic
def unlink(*, actor: Any, user: User) -> None:
    deleted = PscLink.objects.filter(user=user).delete()[0]
    if not deleted:
        raise ActionError(_("Ce compte n'est pas relié à Pro Santé Connect."))
    # A PSC-only account has no password left: it cannot sign in until the administrator sets
    # a temporary one (which, for an account reaching a titulaire, is itself approved).
    journal.record(Ev.PSC_UNLINKED, actor=actor, target=user)


@transaction.atomic
def set_psc_only(*, actor: Any, user: User, psc_only: bool) -> None:
    """PSC only: no password login at all (the password is removed). Back to passwords: the
    administrator sets a temporary password (approved like any other)."""
    updated = PscLink.objects.filter(user=user).update(psc_only=psc_only)
    if not updated:
        raise ActionError(_("Reliez d'abord ce compte à Pro Santé Connect."))
    if psc_only:
        _drop_password(user)
    journal.record(Ev.PSC_ONLY_CHANGED, actor=actor, target=user, details={"psc_only": psc_only})


def _drop_password(user: User) -> None:
    user.set_unusable_password()
    user.save(update_fields=["password"])


def is_psc_only(user: Any) -> bool:
    return bool(getattr(user, "pk", None)) and PscLink.objects.filter(user_id=user.pk, psc_only=True).exists()


@transaction.atomic
def purge_unknown_attempts(*, now: Any = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=UNKNOWN_KEPT_DAYS)
    return PscUnknownAttempt.objects.filter(last_seen__lt=cutoff).delete()[0]

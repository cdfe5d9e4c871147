"""Journal the authentication events that allauth and Django signal."""

from __future__ import annotations

from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals
from django.db import transaction
from django.dispatch import receiver

from hygie.audit import journal
from hygie.audit.events import Ev, Outcome


@receiver(auth_signals.user_logged_in)
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        from hygie.accounts.session import start

        start(request, user)
    # The channel (password, or Pro Santé Connect with its assurance level: hygie.psc), never a token.
    channel = getattr(request, "_hygie_login_channel", None) or {"channel": "password"}
    with transaction.atomic():
        journal.record(Ev.LOGIN_SUCCEEDED, actor=user, target=user, details=dict(channel))


@receiver(auth_signals.user_login_failed)
def on_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    from hygie.accounts.models import User

    # Which account was tried, if it exists; the login typed is never written.
    user = User.objects.filter(username__iexact=credentials.get("username") or "").first()
    journal.record(
        Ev.LOGIN_FAILED, target=user, outcome=Outcome.FAILURE, actor_role="",
        details={"reason": _failure_reason(user)},
    )


def _failure_reason(user: Any) -> str:
    """Why the login failed, for the journal and its alerts (never shown on the login page,
    which gives the same answer in every case): the account may not sign in, or else the
    password was wrong."""
    from hygie.access.policy import Role

    if user is None:
        return "unknown"
    if not user.is_active:
        return "inactive"
    if user.role == Role.REMPLACANT and not user.can_sign_in_at():
        return "replacement"  # outside the dates of every replacement
    return "password"


@receiver(mfa_signals.authentication_failed)
def on_second_factor_failed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    # A wrong second-factor code, at login (the password was right) or when confirming identity.
    journal.record(
        Ev.LOGIN_FAILED, target=user, outcome=Outcome.FAILURE, actor_role="",
        details={"reason": "second_factor", "type": authenticator.type,
                 "reauthentication": bool(kwargs.get("reauthentication"))},
    )


@receiver(account_signals.authentication_step_completed)
def on_authentication_step(sender: Any, request: Any, user: Any, method: str, **kwargs: Any) -> None:
    # allauth records every step of a login; only a re-authentication (password or second
    # factor typed again before a sensitive action, or to unlock a session) is journaled here,
    # the login itself being journaled once complete (on_login).
    if kwargs.get("reauthenticated"):
        details = {"method": method}
        if kwargs.get("type"):
            details["type"] = kwargs["type"]
        journal.record(Ev.REAUTHENTICATED, actor=user, target=user, details=details)


@receiver(auth_signals.user_logged_out)
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        journal.record(Ev.LOGOUT, actor=user, target=user)


@receiver(mfa_signals.authenticator_added)
def on_mfa_added(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    journal.record(Ev.MFA_ENROLLED, actor=user, target=user, details={"type": authenticator.type})


@receiver(mfa_signals.authenticator_removed)
def on_mfa_removed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    journal.record(Ev.MFA_REMOVED, actor=user, target=user, details={"type": authenticator.type})


@receiver(mfa_signals.authenticator_reset)
def on_mfa_codes(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    journal.record(Ev.MFA_RECOVERY_CODES_GENERATED, actor=user, target=user)


@receiver(account_signals.password_changed)
def on_password_changed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from hygie.accounts import session
    from hygie.accounts.actions import password_changed_by_owner

    password_changed_by_owner(user=user)
    if request is not None and session.locked_at(request) is None:
        session.record_reauthentication(request, user)


@receiver(account_signals.password_reset)
def on_password_reset(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from hygie.accounts.actions import password_reset_by_email

    password_reset_by_email(user=user)

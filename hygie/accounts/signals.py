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
    with transaction.atomic():
        journal.record(Ev.LOGIN_SUCCEEDED, actor=user, target=user)


@receiver(auth_signals.user_login_failed)
def on_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    from hygie.accounts.models import User

    # Which account was tried, if it exists; the login typed is never written.
    user = User.objects.filter(username__iexact=credentials.get("username") or "").first()
    journal.record(Ev.LOGIN_FAILED, target=user, outcome=Outcome.FAILURE, actor_role="")


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
    from hygie.accounts.actions import password_changed_by_owner

    password_changed_by_owner(user=user)

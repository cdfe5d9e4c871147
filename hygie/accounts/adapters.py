from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from hygie.audit import journal
from hygie.audit.events import Ev, Outcome


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts are created by the practice's administrator only.
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            # The account (or this address) is temporarily locked after repeated failures.
            from hygie.accounts.models import User

            user = User.objects.filter(username__iexact=credentials.get("username") or "").first()
            journal.record(Ev.LOGIN_LOCKED, actor=user, target=user, outcome=Outcome.DENIED)
            raise


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_issuer(self) -> str:
        from hygie.practices.models import Practice

        practice = Practice.current()
        return f"Hygie – {practice.name}" if practice else "Hygie"

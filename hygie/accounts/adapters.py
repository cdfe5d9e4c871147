from __future__ import annotations

import base64
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
    """TOTP secrets and recovery-code seeds are encrypted at rest with the secrets key (derived
    from the key file's data root key, hygie.keys.service), never stored in clear."""

    _PREFIX = "hy1:"
    _AD = b"hygie:mfa-secret"

    def encrypt(self, text: str) -> str:
        from hygie.keys import service

        ciphertext = service.secrets_key().encrypt(text.encode("utf-8"), self._AD)
        return self._PREFIX + base64.b64encode(ciphertext).decode("ascii")

    def decrypt(self, encrypted_text: str) -> str:
        from hygie.keys import service

        if not encrypted_text.startswith(self._PREFIX):
            # Enrolled before encryption at rest: readable as is, re-encrypted at the next change.
            return encrypted_text
        ciphertext = base64.b64decode(encrypted_text[len(self._PREFIX) :])
        return service.secrets_key().decrypt(ciphertext, self._AD).decode("utf-8")

    def get_totp_issuer(self) -> str:
        from hygie.practices.models import Practice

        practice = Practice.current()
        return f"Hygie – {practice.name}" if practice else "Hygie"

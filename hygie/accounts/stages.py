"""allauth's second-factor login stage, aware of a code checked together with the password."""

from __future__ import annotations

from typing import Any

from allauth.mfa.base.internal.flows import post_authentication
from allauth.mfa.stages import AuthenticateStage as AllauthAuthenticateStage

from hygie.accounts.adapters import CODE_CHECKED


class AuthenticateStage(AllauthAuthenticateStage):
    def _should_handle(self, request: Any) -> bool:
        # Pro Santé Connect at eidas1 is both factors already (hygie.psc.actions sets the channel
        # only after verifying the ID token's acr): no TOTP asked.
        channel = getattr(request, "_hygie_login_channel", None) or {}
        if channel.get("channel") == "psc" and channel.get("acr") == "eidas1":
            return False
        # Under the account-wide throttle the login form asks the password and the code at once
        # (hygie.accounts.adapters): that code was checked in this very request, for this user.
        checked = getattr(request, CODE_CHECKED, None)
        user = self.login.user
        if checked is not None and user is not None and checked.user_id == user.pk:
            post_authentication(request, checked)
            return False
        return super()._should_handle(request)

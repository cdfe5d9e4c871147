from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend


class HygieBackend(AuthenticationBackend):
    """allauth's backend, with Hygie's rule of who may sign in right now.

    A deactivated account, or a remplaçant outside their replacement dates, is refused with
    the very same answer as a wrong password: no page tells that the password was right.
    The same rule runs on every request (get_user), so such a session ends at once.
    """

    def authenticate(self, request: Any, **credentials: Any) -> Any:
        user = super().authenticate(request, **credentials)
        if user is not None:
            from hygie.psc.actions import is_psc_only

            if is_psc_only(user):
                return None  # "PSC only": no password login at all, same answer as a wrong one
        return user

    def user_can_authenticate(self, user: Any) -> bool:
        return bool(user.can_sign_in_at())

    def get_user(self, user_id: Any) -> Any:
        """The session's user, on every request, read in one query with whether a second factor
        (TOTP app or security key) is enrolled — SecondFactorRequiredMiddleware reads it — and
        whether Hygie is isolated right now — hygie.incidents.lockdown.for_request reads it —
        instead of asking the database again for each (issue 14)."""
        from allauth.mfa.models import Authenticator
        from django.contrib.auth import get_user_model
        from django.db.models import Exists, OuterRef

        from hygie.incidents import lockdown

        enrolled = Authenticator.objects.filter(
            user=OuterRef("pk"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
        )
        model = get_user_model()
        user = (
            model._default_manager.annotate(hygie_second_factor=Exists(enrolled), **lockdown.read_with_user())
            .filter(pk=user_id)
            .first()
        )
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None

    @classmethod
    def _stash_user(cls, user: Any) -> None:
        # allauth stashes a user whose password matched but who may not sign in, to show an
        # "account inactive" page. That page confirms the password: we never show it.
        return None

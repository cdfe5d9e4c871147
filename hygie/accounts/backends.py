from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend


class HygieBackend(AuthenticationBackend):
    """allauth's backend, with Hygie's rule of who may sign in right now.

    A deactivated account, or a remplaçant outside their replacement dates, is refused with
    the very same answer as a wrong password: no page tells that the password was right.
    The same rule runs on every request (get_user), so such a session ends at once.
    """

    def user_can_authenticate(self, user: Any) -> bool:
        return bool(user.can_sign_in_at())

    def get_user(self, user_id: Any) -> Any:
        """The session's user, on every request, with whether a second factor (TOTP app or
        security key) is enrolled, in the same query: SecondFactorRequiredMiddleware reads it
        instead of asking the database again (issue 14: one round trip less per page)."""
        from allauth.mfa.models import Authenticator
        from django.contrib.auth import get_user_model
        from django.db.models import Exists, OuterRef

        enrolled = Authenticator.objects.filter(
            user=OuterRef("pk"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
        )
        model = get_user_model()
        try:
            user = model._default_manager.annotate(hygie_second_factor=Exists(enrolled)).get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    @classmethod
    def _stash_user(cls, user: Any) -> None:
        # allauth stashes a user whose password matched but who may not sign in, to show an
        # "account inactive" page. That page confirms the password: we never show it.
        return None

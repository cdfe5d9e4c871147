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

    def get_user(self, user_id: Any) -> Any:
        """The signed-in user of a request, read with whether Hygie is isolated right now (one
        query: hygie.incidents.lockdown.for_request reads the answer instead of asking again)."""
        from hygie.accounts.models import User
        from hygie.incidents import lockdown

        user = User._default_manager.annotate(**lockdown.read_with_user()).filter(pk=user_id).first()
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user: Any) -> bool:
        return bool(user.can_sign_in_at())

    @classmethod
    def _stash_user(cls, user: Any) -> None:
        # allauth stashes a user whose password matched but who may not sign in, to show an
        # "account inactive" page. That page confirms the password: we never show it.
        return None

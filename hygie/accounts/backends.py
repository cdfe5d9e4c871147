from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.db import connections

# A user id no account has: where it lands among the compiled query's parameters is the slot
# each request fills with its own user's id.
_PLACEHOLDER_ID = -7_346_912_583
_user_queries: dict[str, tuple[str, tuple[Any, ...], int]] = {}


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
        instead of asking the database again for each (issue 14).

        The query's SQL is built by the ORM once per process and database (`_user_query`): only
        the id changes from one request to the next, and building it cost more than running it."""
        from django.contrib.auth import get_user_model
        from django.db import router

        model = get_user_model()
        using = router.db_for_read(model)
        sql, params, slot = _user_query(using)
        params[slot] = model._meta.pk.get_db_prep_value(user_id, connections[using])
        user = next(iter(model._default_manager.db_manager(using).raw(sql, params)), None)
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None

    @classmethod
    def _stash_user(cls, user: Any) -> None:
        # allauth stashes a user whose password matched but who may not sign in, to show an
        # "account inactive" page. That page confirms the password: we never show it.
        return None


def _user_query(using: str) -> tuple[str, list[Any], int]:
    """SQL and parameters of HygieBackend.get_user's query for one database, the position of the
    user id among the parameters (a copy of the list: the caller fills it)."""
    cached = _user_queries.get(using)
    if cached is None:
        from allauth.mfa.models import Authenticator
        from django.contrib.auth import get_user_model
        from django.db.models import Exists, OuterRef

        from hygie.incidents import lockdown

        enrolled = Authenticator.objects.filter(
            user=OuterRef("pk"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
        )
        queryset = (
            get_user_model()
            ._default_manager.db_manager(using)
            .annotate(hygie_second_factor=Exists(enrolled), **lockdown.read_with_user())
            .filter(pk=_PLACEHOLDER_ID)
            .order_by()[:1]
        )
        sql, params = queryset.query.sql_with_params()
        slots = [i for i, value in enumerate(params) if value == _PLACEHOLDER_ID]
        if len(slots) != 1:
            raise RuntimeError("get_user: the user id's place in the query is not unique")
        cached = _user_queries[using] = (sql, tuple(params), slots[0])
    sql, params, slot = cached
    return sql, list(params), slot

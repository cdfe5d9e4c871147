from __future__ import annotations

import functools
from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import SimpleLazyObject

from hygie.accounts import session
from hygie.audit import journal
from hygie.audit.events import Ev

# Paths a locked session may still reach: the unlock flow, logout, and static assets.
_ALWAYS_OPEN = ("/static/", "/favicon.ico", "/i18n/")
# Sent by scripts that poll in the background: such a request is not user activity.
PASSIVE_HEADER = "X-Hygie-Passive"


def _is_open(path: str, prefixes: tuple[str, ...]) -> bool:
    return path.startswith(_ALWAYS_OPEN) or path.startswith(prefixes)


def _paths(*names: str) -> tuple[str, ...]:
    """The paths of these URL names, reversed once per process instead of on every request (per
    script prefix and URLconf, both of which reverse depends on)."""
    return _reversed((get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF), names)


@functools.lru_cache(maxsize=16)
def _reversed(where: tuple[str, str], names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(reverse(name) for name in names)


def _unlock_paths() -> tuple[str, ...]:
    return _paths(
        "session_locked",
        "account_reauthenticate",
        "mfa_reauthenticate",
        "account_logout",
        # « Déverrouiller avec Pro Santé Connect » (hygie.psc.actions: same professional only).
        "psc_login",
        "psc_callback",
    )


def _session_paths() -> tuple[str, ...]:
    # Locking, the activity heartbeat, re-authentication and logout work during set-up.
    return _paths(
        "account_logout",
        "session_locked",
        "session_lock_now",
        "session_heartbeat",
        "account_reauthenticate",
        "mfa_reauthenticate",
    )


class SessionGuardMiddleware:
    """Absolute lifetime, revocation, idle lock. See hygie.accounts.session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Every request needs the user now: read it (session, then account) and hand the views
        # and templates the account itself rather than Django's lazy wrapper, through which
        # each attribute read (~200 a page: roles, names, the templates' `user`) cost two
        # Python calls and a caught AttributeError.
        user = request.user
        if isinstance(user, SimpleLazyObject):
            user.is_authenticated  # noqa: B018 (evaluates the wrapper)
            request.user = user = user._wrapped
        if not user.is_authenticated:
            if SESSION_KEY in request.session:
                # Signed in earlier, but the account may no longer sign in (deactivated,
                # replacement over): Django then just sees an anonymous user. End the session
                # for good, or it would come back to life if the account were enabled again.
                request.session.flush()
            return self.get_response(request)

        if session.is_expired(request, user):
            logout(request)
            return redirect(settings.LOGIN_URL)

        unlock_paths = _unlock_paths()
        heartbeat = request.path == _paths("session_heartbeat")[0]
        locked_since = session.locked_at(request)

        if locked_since is None and session.idle_for(request) > session.idle_seconds():
            session.lock(request)
            locked_since = session.locked_at(request)
            journal.record(Ev.SESSION_IDLE_LOCKED, actor=user, target=user)

        if locked_since is not None:
            if session.reauthenticated_since(request, locked_since):
                session.unlock(request)
                journal.record(Ev.SESSION_UNLOCKED, actor=user, target=user)
            elif not _is_open(request.path, unlock_paths):
                if heartbeat or request.headers.get("X-Requested-With") == "fetch":
                    return JsonResponse({"locked": True}, status=423)
                # After the unlock, back to this page (or to the form page of a POST).
                return redirect(session.locked_url(session.page_left(request)))
            return self.get_response(request)

        # Any request, the heartbeat included, is activity: the JS sends it only when the
        # user moved or typed since the last one. Background polling (the backups progress
        # bar) says it is passive: it must not keep an idle session open.
        if request.headers.get(PASSIVE_HEADER) != "1":
            session.touch(request)
        return self.get_response(request)


class RequireSecondFactorMiddleware:
    """No page beyond account set-up until the password is the user's own and a second
    factor (TOTP app or security key) is enrolled. Recovery codes alone do not count."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or request.path.startswith(_ALWAYS_OPEN):
            return self.get_response(request)
        if session.locked_at(request) is not None:
            # SessionGuardMiddleware lets a locked session reach the unlock flow only; sending
            # it to set-up pages from there would bounce between the two guards forever.
            return self.get_response(request)
        if request.path in _session_paths():
            return self.get_response(request)
        if session.strong_login(request):
            # Pro Santé Connect at eidas1 (e-CPS, CPS card) satisfies both factors: no password
            # to change, no Hygie second factor to enrol (hygie.psc).
            return self.get_response(request)
        if user.must_change_password:
            target = reverse("account_change_password")
            if request.path != target:
                return redirect(target)
            return self.get_response(request)
        # Read with the user by HygieBackend.get_user on a session's request; asked here otherwise.
        has_factor = getattr(user, "hygie_second_factor", None)
        if has_factor is None:
            has_factor = Authenticator.objects.filter(
                user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
            ).exists()
        if not has_factor:
            # Everything under /auth/2fa/ manages second factors (mfa_index is its root).
            allowed = (reverse("mfa_index"), reverse("second_factor_required"))
            if not request.path.startswith(allowed):
                return redirect("second_factor_required")
        return self.get_response(request)

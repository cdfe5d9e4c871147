"""Session state: when it started, when it was last used, whether it is locked.

The rules, enforced on every request by SessionGuardMiddleware:
- a session lives at most SESSION_MAX_HOURS from its login;
- after IDLE_LOCK_MINUTES without activity it is *locked*: the server answers nothing but the
  unlock page until the user re-authenticates (password or second factor);
- bumping the user's `session_epoch` ends every session of that user at once.

Unlocking returns to the page the user was on: the lock page carries it as `next`, checked
here (`return_path`) to be a page of this site, never another one (no open redirect).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

AUTH_AT = "hygie.auth_at"
SEEN_AT = "hygie.seen_at"
LOCKED_AT = "hygie.locked_at"
EPOCH = "hygie.epoch"
PREVIOUS_LOGIN = "hygie.previous_login"
# How this session was opened: {"channel": "password"} or {"channel": "psc", "acr": "eidas1"}.
CHANNEL = "hygie.login_channel"


def start(request: HttpRequest, user: Any) -> None:
    """Called at login (the session id has just been rotated by Django's login())."""
    now = time.time()
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    request.session[EPOCH] = user.session_epoch
    request.session.pop(LOCKED_AT, None)
    request.session[CHANNEL] = dict(getattr(request, "_hygie_login_channel", None) or {"channel": "password"})


def strong_login(request: HttpRequest) -> bool:
    """The session was opened by Pro Santé Connect at eidas1 (e-CPS or CPS card): both factors."""
    channel = request.session.get(CHANNEL) or {}
    return channel.get("channel") == "psc" and channel.get("acr") == "eidas1"


def idle_seconds() -> int:
    return settings.IDLE_LOCK_MINUTES * 60


def is_expired(request: HttpRequest, user: Any) -> bool:
    session = request.session
    if session.get(EPOCH) != user.session_epoch:
        return True
    auth_at = session.get(AUTH_AT)
    if auth_at is None:
        return True
    return time.time() - float(auth_at) > settings.SESSION_MAX_HOURS * 3600


def locked_at(request: HttpRequest) -> float | None:
    value = request.session.get(LOCKED_AT)
    return float(value) if value is not None else None


def lock(request: HttpRequest) -> None:
    if LOCKED_AT not in request.session:
        request.session[LOCKED_AT] = time.time()


def idle_for(request: HttpRequest) -> float:
    seen = request.session.get(SEEN_AT)
    return time.time() - float(seen) if seen is not None else 0.0


# The last-activity timestamp is rewritten at most this often: a page view then costs no session
# write (one UPDATE and one commit fewer per request). The idle lock may come this much earlier
# than IDLE_LOCK_MINUTES after the very last click, never later.
TOUCH_INTERVAL_SECONDS = 30


def touch(request: HttpRequest) -> None:
    now = time.time()
    seen = request.session.get(SEEN_AT)
    if seen is None or not 0 <= now - float(seen) < TOUCH_INTERVAL_SECONDS:
        request.session[SEEN_AT] = now


def reauthenticated_since(request: HttpRequest, since: float) -> bool:
    """True if allauth recorded a password or second-factor authentication after `since`."""
    records = request.session.get(AUTHENTICATION_METHODS_SESSION_KEY) or []
    return any(isinstance(r, dict) and float(r.get("at", 0)) > since for r in records)


def just_signed_in(request: HttpRequest) -> bool:
    """The password was typed at login within ACCOUNT_REAUTHENTICATION_TIMEOUT (allauth's own
    record of this session's authentications)."""
    records = request.session.get(AUTHENTICATION_METHODS_SESSION_KEY) or []
    logins = [r for r in records if isinstance(r, dict) and r.get("method") == "password"]
    if not logins:
        return False
    return 0 <= time.time() - float(logins[-1].get("at", 0)) < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


def record_reauthentication(request: HttpRequest, user: Any) -> None:
    """The user has just proved the password (the change form: current password, or a login
    moments ago): allauth's « recently re-authenticated » for what follows, such as enrolling
    the second factor, instead of asking the password a third time."""
    from allauth.account.internal.flows.login import record_authentication

    record_authentication(request, user, method="password", reauthenticated=True)


def unlock(request: HttpRequest) -> None:
    request.session.pop(LOCKED_AT, None)
    touch(request)


# The lock flow itself: returning there after the unlock would lock again or loop.
_NOT_A_RETURN = (
    "session_locked", "session_lock_now", "session_heartbeat",
    "account_reauthenticate", "mfa_reauthenticate", "account_logout", "account_login",
)


def return_path(request: HttpRequest, url: str | None) -> str | None:
    """`url` as a path of this site to come back to after the unlock, or None.

    Same origin only (url_has_allowed_host_and_scheme against this request's host and scheme):
    another site, a scheme-relative `//host`, `javascript:` or a page of the lock flow give None."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(url)
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    if parts.path in {reverse(name) for name in _NOT_A_RETURN} or parts.path.startswith(settings.STATIC_URL):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_left(request: HttpRequest) -> str | None:
    """The page the user was on when this request found the session locked: the page itself
    for a GET; for a POST (a form sent), the page that showed the form (Referer, same origin
    only): a POST is never replayed, its GET page is shown again."""
    if request.method in ("GET", "HEAD"):
        return return_path(request, request.get_full_path())
    return return_path(request, request.headers.get("Referer"))


def locked_url(back: str | None) -> str:
    """The lock page, remembering where to return."""
    url = reverse("session_locked")
    return f"{url}?{urlencode({'next': back})}" if back else url

"""Session state: when it started, when it was last used, whether it is locked.

The rules, enforced on every request by SessionGuardMiddleware:
- a session lives at most SESSION_MAX_HOURS from its login;
- after IDLE_LOCK_MINUTES without activity it is *locked*: the server answers nothing but the
  unlock page until the user re-authenticates (password or second factor);
- bumping the user's `session_epoch` ends every session of that user at once.
"""

from __future__ import annotations

import time
from typing import Any

from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from django.conf import settings
from django.http import HttpRequest

AUTH_AT = "hygie.auth_at"
SEEN_AT = "hygie.seen_at"
LOCKED_AT = "hygie.locked_at"
EPOCH = "hygie.epoch"
PREVIOUS_LOGIN = "hygie.previous_login"


def start(request: HttpRequest, user: Any) -> None:
    """Called at login (the session id has just been rotated by Django's login())."""
    now = time.time()
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    request.session[EPOCH] = user.session_epoch
    request.session.pop(LOCKED_AT, None)


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


def touch(request: HttpRequest) -> None:
    request.session[SEEN_AT] = time.time()


def reauthenticated_since(request: HttpRequest, since: float) -> bool:
    """True if allauth recorded a password or second-factor authentication after `since`."""
    records = request.session.get(AUTHENTICATION_METHODS_SESSION_KEY) or []
    return any(isinstance(r, dict) and float(r.get("at", 0)) > since for r in records)


def unlock(request: HttpRequest) -> None:
    request.session.pop(LOCKED_AT, None)
    touch(request)

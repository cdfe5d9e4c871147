"""The login throttle (rules in hygie.lib.loginthrottle), counted in the shared cache.

Keys are hashes of the login typed (lower case) and of the client address (REMOTE_ADDR, the
real client once the trusted proxy is set up): an unknown login is throttled exactly like a
known one, and no login appears in the cache.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from hygie.lib import loginthrottle
from hygie.lib.loginthrottle import Policy, Wait


def now() -> float:
    # One clock for the throttle, that tests move forward instead of sleeping.
    return time.time()


def policy() -> Policy:
    return Policy(
        pair_free=settings.LOGIN_FAILURES_PER_PAIR,
        pair_max_seconds=settings.LOGIN_MAX_DELAY_MINUTES * 60,
        account_ceiling=settings.LOGIN_FAILURES_PER_ACCOUNT,
    )


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:40]
    return f"hygie:login-throttle:{kind}:{digest}"


class LoginThrottle:
    def __init__(self, request: HttpRequest, login: str) -> None:
        self.policy = policy()
        login = (login or "").strip().casefold()
        address = request.META.get("REMOTE_ADDR") or "-"
        self.keys = {
            "pair": _key("pair", login, address),
            "address": _key("address", address),
            "account": _key("account", login),
        }

    def _get(self, kind: str) -> list[float]:
        value: Any = cache.get(self.keys[kind])
        return [float(t) for t in value] if isinstance(value, list) else []

    def wait(self) -> Wait:
        return loginthrottle.wait(self._get("pair"), self._get("address"), now(), self.policy)

    def second_factor_required(self) -> bool:
        return loginthrottle.second_factor_required(self._get("account"), now(), self.policy)

    def failed(self) -> bool:
        """Count a failure; True when it takes the login over the account-wide ceiling."""
        at, p = now(), self.policy
        before = self.second_factor_required()
        for kind, window in (
            ("pair", p.pair_window_seconds),
            ("address", p.address_window_seconds),
            ("account", p.account_window_seconds),
        ):
            cache.set(self.keys[kind], loginthrottle.add(self._get(kind), at, window, p.keep()), window)
        return not before and self.second_factor_required()

    def succeeded(self) -> None:
        # The pair starts afresh; the account-wide count does not (an attacker elsewhere keeps
        # trying), nor the address's (one success must not open a spraying address again).
        cache.delete(self.keys["pair"])

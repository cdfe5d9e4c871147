"""The login throttle (rules in hygie.lib.loginthrottle), counted in the shared cache.

Keys are hashes of the login typed (lower case) and of the client address (REMOTE_ADDR, the
real client once the trusted proxy is set up): an unknown login is throttled exactly like a
known one, and no login appears in the cache.

Several app servers share the cache (the database, or Redis with HYGIE_CACHE_URL): a failure is
counted by a read-modify-write of three lists, done under a short lock (an atomic `cache.add`)
so that failures arriving at the same moment on two servers are all counted.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Iterator
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


# A lock is held for a few cache round trips; one left by a killed process expires by itself.
LOCK_SECONDS = 5
LOCK_WAIT_SECONDS = 2.0


@contextlib.contextmanager
def _locked(key: str) -> Iterator[None]:
    """Best effort mutual exclusion across processes and servers. After LOCK_WAIT_SECONDS the
    update goes ahead unlocked: a cache in trouble must not stop people from logging in (at
    worst one failure is not counted)."""
    lock, token = f"{key}:lock", secrets.token_hex(8)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    acquired = cache.add(lock, token, LOCK_SECONDS)
    while not acquired and time.monotonic() < deadline:
        time.sleep(0.005)
        acquired = cache.add(lock, token, LOCK_SECONDS)
    try:
        yield
    finally:
        if acquired and cache.get(lock) == token:
            cache.delete(lock)


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
        p = self.policy
        with _locked(self.keys["account"]), _locked(self.keys["address"]):
            # Account before address, always: two servers never wait on each other's lock.
            at = now()  # once the lock is held: the other server's failures are not "later"
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

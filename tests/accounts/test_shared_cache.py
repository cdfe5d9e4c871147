"""The login throttle counted in a cache shared by several app servers (a real Redis).

Four processes, standing for app servers, record failed logins on one account at the same
moment from different addresses (a spread brute force): every failure is counted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.test import RequestFactory

from hygie.accounts.throttle import LoginThrottle
from tests.redis_server import redis_url  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import os, sys, time
import django
django.setup()
from django.test import RequestFactory
from hygie.accounts.throttle import LoginThrottle
start, count, address = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
while time.time() < start:
    pass
for _ in range(count):
    LoginThrottle(RequestFactory().post("/auth/login/", REMOTE_ADDR=address), "dr.cible").failed()
"""


def test_failures_on_two_servers_at_once_are_all_counted(redis_url, settings):  # noqa: F811
    env = {**os.environ, "HYGIE_CACHE_URL": redis_url, "DJANGO_SETTINGS_MODULE": "hygie.settings"}
    env.pop("HYGIE_REDIS_URL", None)
    start = time.time() + 3  # both processes are up and start together
    each = 7  # 4 x 7 = 28 failures: fewer than the lists keep (31)
    addresses = ("203.0.113.7", "198.51.100.9", "192.0.2.44", "203.0.113.80")
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(start), str(each), address], env=env, cwd=ROOT)
        for address in addresses
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * len(addresses)

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": "hygie"}}
    throttle = LoginThrottle(RequestFactory().post("/auth/login/", REMOTE_ADDR="192.0.2.1"), "dr.cible")
    assert len(throttle._get("account")) == len(addresses) * each
    # Past the account-wide ceiling (20 by default): the password alone is no longer enough,
    # whichever server the next attempt reaches.
    assert throttle.second_factor_required()
    for address in addresses:
        pair = LoginThrottle(RequestFactory().post("/auth/login/", REMOTE_ADDR=address), "dr.cible")
        assert len(pair._get("address")) == each
        assert pair.wait().seconds > 0


def test_a_failure_read_and_rewritten_meanwhile_by_another_server_is_not_lost(redis_url, settings,  # noqa: F811
                                                                              monkeypatch):
    """Deterministic version of the race above: each count reads the lists, then writes them
    back; here the read is slowed down so that the other "server" (a thread with its own Redis
    connection) always counts in between. The lock makes the second wait its turn."""
    import threading

    from hygie.accounts import throttle as module

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": "hygie"}}
    real_get = LoginThrottle._get

    def slow_get(self, kind):
        value = real_get(self, kind)
        time.sleep(0.05)
        return value

    monkeypatch.setattr(LoginThrottle, "_get", slow_get)
    errors = []

    def server(address: str) -> None:
        try:
            for _ in range(3):
                LoginThrottle(RequestFactory().post("/auth/login/", REMOTE_ADDR=address), "dr.cible").failed()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=server, args=(a,)) for a in ("203.0.113.7", "198.51.100.9")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert module.LOCK_WAIT_SECONDS > 1  # a count holds the lock ~0.25 s here: the other one waits for it
    throttle = LoginThrottle(RequestFactory().post("/auth/login/", REMOTE_ADDR="192.0.2.1"), "dr.cible")
    assert len(real_get(throttle, "account")) == 6

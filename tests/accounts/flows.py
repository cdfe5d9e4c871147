"""Helpers that drive the real allauth flows: password, TOTP code from oathtool, re-authentication.

TOTP codes come from the system's `oathtool`, an implementation independent of allauth's.
"""

from __future__ import annotations

import itertools
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt
from django.test import Client
from django.urls import reverse

from hygie.accounts import session
from tests.factories import PASSWORD

OATHTOOL = "/usr/bin/oathtool"
TOTP_PERIOD = 30


def totp_secret(user: Any) -> str:
    """The base32 secret of the user's enrolled TOTP authenticator."""
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def totp_code(secret: str, at: float | None = None) -> str:
    """The code an authenticator app shows for `secret` at time `at` (default: now)."""
    args = [OATHTOOL, "--totp", "-b", secret]
    if at is not None:
        args += ["--now", f"@{int(at)}"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


def fresh_totp_code(secret: str) -> str:
    """A code for now, waiting for the next time step if the current one is about to end,
    so that it is still valid when the server checks it."""
    if TOTP_PERIOD - time.time() % TOTP_PERIOD < 3:
        time.sleep(TOTP_PERIOD - time.time() % TOTP_PERIOD + 0.1)
    return totp_code(secret)


def submit_password(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post(reverse("account_login"), {"login": username, "password": password})


def submit_code(client: Client, code: str) -> Any:
    return client.post(reverse("mfa_authenticate"), {"code": code})


@contextmanager
def totp_clock(at: float) -> Iterator[None]:
    """Freeze the clock allauth checks TOTP codes against (and only that clock)."""
    fake = mock.Mock(wraps=time)
    fake.time.return_value = at
    with mock.patch("allauth.mfa.totp.internal.auth.time", fake):
        yield


# Each login of a test run happens in its own 30-second step, as if a minute apart: a user
# may sign in twice in a test without the second code being refused as already used.
_steps = itertools.count(1)


def submit_totp(client: Client, user: Any) -> Any:
    """The second step of the login: the code the user's app shows."""
    at = (int(time.time()) // TOTP_PERIOD + next(_steps)) * TOTP_PERIOD + 5
    with totp_clock(at):
        return submit_code(client, totp_code(totp_secret(user), at=at))


def sign_in(client: Client, user: Any, password: str = PASSWORD) -> Any:
    """Password, then a TOTP code: the full interactive login. Returns the last response."""
    r = submit_password(client, user.username, password)
    assert r.status_code == 302 and r["Location"] == reverse("mfa_authenticate"), r
    return submit_totp(client, user)


def reauthenticate(client: Client, password: str = PASSWORD, next_url: str = "") -> Any:
    url = reverse("account_reauthenticate")
    if next_url:
        url += f"?next={next_url}"
    return client.post(url, {"password": password})


def shift_session(client: Client, key: str, seconds: float) -> None:
    """Move a timestamp of the client's session into the past, as if `seconds` had passed."""
    s = client.session
    s[key] = float(s[key]) - seconds
    s.save()


def go_idle(client: Client, seconds: float) -> None:
    shift_session(client, session.SEEN_AT, seconds)


def age_authentications(client: Client, seconds: float) -> None:
    """Make every recorded (re-)authentication of the session `seconds` older."""
    s = client.session
    s["account_authentication_methods"] = [
        {**r, "at": float(r["at"]) - seconds} for r in s.get("account_authentication_methods", [])
    ]
    s.save()


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session

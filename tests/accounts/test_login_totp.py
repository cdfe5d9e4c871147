"""Login: password, then a TOTP code from an authenticator app (oathtool plays the app)."""

import time

from django.urls import reverse

from hygie.access.policy import Role
from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.accounts.flows import is_signed_in, submit_code, submit_password, totp_clock, totp_code
from tests.factories import enrol_totp, make_user

# Freeze allauth's clock on one TOTP time step, so that "already used" cannot be confused
# with "expired" when the wall clock crosses a 30-second boundary during the test.
NOW = (int(time.time()) // 30) * 30 + 10


def frozen_totp_clock(at: float = NOW):
    return totp_clock(at)


def _user_with_secret():
    user = make_user("alice", Role.TITULAIRE, mfa=False)
    return user, enrol_totp(user)


def test_it_signs_in_with_password_then_totp_code(client, db):
    user, secret = _user_with_secret()

    r = submit_password(client, "alice")
    assert r.status_code == 302 and r["Location"] == reverse("mfa_authenticate")
    assert not is_signed_in(client), "the password alone must not open a session"

    with frozen_totp_clock():
        r = submit_code(client, totp_code(secret, at=NOW))
    assert r.status_code == 302 and r["Location"] == reverse("dashboard")
    assert is_signed_in(client)
    assert client.get(reverse("dashboard")).status_code == 200
    assert Event.objects.filter(action=Ev.LOGIN_SUCCEEDED, actor=user).count() == 1


def test_it_refuses_a_wrong_code(client, db):
    _, secret = _user_with_secret()
    submit_password(client, "alice")
    good = totp_code(secret, at=NOW)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"

    with frozen_totp_clock():
        r = submit_code(client, wrong)
    assert r.status_code == 200
    assert r.context["form"].errors
    assert not is_signed_in(client)
    assert client.get(reverse("dashboard")).status_code == 302


def test_it_refuses_a_code_from_another_time_step(client, db):
    _, secret = _user_with_secret()
    submit_password(client, "alice")
    with frozen_totp_clock():
        r = submit_code(client, totp_code(secret, at=NOW - 300))
    assert r.status_code == 200
    assert not is_signed_in(client)


def test_it_refuses_the_same_code_twice(client, db):
    _, secret = _user_with_secret()
    code = totp_code(secret, at=NOW)
    with frozen_totp_clock():
        submit_password(client, "alice")
        assert submit_code(client, code).status_code == 302
        assert is_signed_in(client)
        client.post(reverse("account_logout"))
        assert not is_signed_in(client)

        # Someone who saw the code over the shoulder tries it at once, in the same 30 s.
        submit_password(client, "alice")
        r = submit_code(client, code)
        assert r.status_code == 200
        assert not is_signed_in(client)
        # The right code, typed twice: say to wait for the next one, not « Code incorrect ».
        page = r.content.decode()
        assert "Attendez le code suivant" in page and "incorrect" not in page.lower()
        # A wrong code is still a wrong code.
        assert "Attendez" not in submit_code(client, "000000" if code != "000000" else "111111").content.decode()

    # The next code of the same app works: only the reuse was refused.
    with frozen_totp_clock(NOW + 30):
        r = submit_code(client, totp_code(secret, at=NOW + 30))
    assert r.status_code == 302
    assert is_signed_in(client)


def test_it_asks_for_the_code_in_french(client, db):
    _user_with_secret()
    submit_password(client, "alice")
    page = client.get(reverse("mfa_authenticate")).content.decode()
    assert "Authentification à deux facteurs" in page
    assert "Code" in page

"""Sessions: fresh id at login, 12 hours at most, "log out everywhere"."""

from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from hygie.accounts import session
from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.accounts.flows import is_signed_in, shift_session, sign_in, submit_password, submit_totp


def _cookie(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_it_ends_a_session_after_its_absolute_lifetime(personas, login):
    client = login(personas.alice)
    assert settings.SESSION_MAX_HOURS == 12
    shift_session(client, session.AUTH_AT, 12 * 3600 - 60)
    assert client.get("/").status_code == 200, "still within 12 hours"

    shift_session(client, session.AUTH_AT, 61)
    r = client.get("/patients/")
    assert r.status_code == 302 and r["Location"] == reverse("account_login")
    assert not is_signed_in(client)


def test_it_ends_the_session_even_when_the_user_kept_working(personas, login):
    # Activity refreshes the idle clock, never the absolute one.
    client = login(personas.alice)
    shift_session(client, session.AUTH_AT, 12 * 3600 + 1)
    assert client.post(reverse("session_heartbeat"), HTTP_X_REQUESTED_WITH="fetch").status_code == 302
    assert not is_signed_in(client)


def test_it_gives_a_new_session_id_at_login(personas, client):
    submit_password(client, "alice")
    before = _cookie(client)
    assert Session.objects.filter(session_key=before).exists()

    r = submit_totp(client, personas.alice)
    assert r.status_code == 302 and is_signed_in(client)
    after = _cookie(client)
    assert after != before
    assert not Session.objects.filter(session_key=before).exists(), "the pre-login id must be dead"


def test_it_gives_each_login_its_own_session(personas):
    first, second = Client(), Client()
    sign_in(first, personas.alice)
    sign_in(second, personas.alice)
    assert _cookie(first) != _cookie(second)


def test_it_logs_out_everywhere(personas):
    laptop, desk = Client(), Client()
    for c in (laptop, desk):
        c.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
        assert c.get("/").status_code == 200
    bob = Client()
    bob.force_login(personas.bob, backend="hygie.accounts.backends.HygieBackend")

    r = laptop.post(reverse("logout_everywhere"))
    assert r.status_code == 302 and r["Location"] == reverse("account_login")

    r = desk.get("/patients/")
    assert r.status_code == 302 and r["Location"] == reverse("account_login")
    assert not is_signed_in(desk)
    assert not is_signed_in(laptop)
    assert bob.get("/").status_code == 200, "other users keep their sessions"
    assert Event.objects.filter(action=Ev.LOGOUT_EVERYWHERE, actor=personas.alice).count() == 1


def test_it_lets_the_user_sign_in_again_after_logging_out_everywhere(personas, client):
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    client.post(reverse("logout_everywhere"))
    r = sign_in(client, personas.alice)
    assert r.status_code == 302
    assert client.get("/").status_code == 200


def test_it_refuses_log_out_everywhere_by_get(personas, login):
    client = login(personas.alice)
    assert client.get(reverse("logout_everywhere")).status_code == 405
    assert client.get("/").status_code == 200


def test_it_sets_the_session_cookie_to_end_with_the_browser(personas, client):
    sign_in(client, personas.alice)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""

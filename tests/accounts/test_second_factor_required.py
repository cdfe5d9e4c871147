"""Every account needs a second factor (TOTP app or security key) before reaching any data."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.urls import reverse

from hygie.access.policy import Role
from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.accounts.flows import fresh_totp_code, reauthenticate
from tests.factories import make_user

REQUIRED = "/securite/second-facteur/"


@pytest.fixture
def newcomer(db):
    return make_user("nadia", Role.TITULAIRE, mfa=False)


@pytest.mark.parametrize("url", ["/", "/patients/", "/compte/", "/agenda/"])
def test_it_sends_an_account_without_second_factor_to_the_enrolment_page(newcomer, login, url):
    client = login(newcomer)
    r = client.get(url)
    assert r.status_code == 302
    assert r["Location"] == REQUIRED


def test_it_explains_in_french_what_to_do(newcomer, login):
    client = login(newcomer)
    r = client.get(REQUIRED)
    assert r.status_code == 200
    page = r.content.decode()
    assert "Activez votre second facteur" in page
    assert reverse("mfa_activate_totp") in page


def test_it_does_not_count_recovery_codes_alone(newcomer, login):
    RecoveryCodes.activate(newcomer)
    client = login(newcomer)
    assert client.get("/patients/").status_code == 302
    assert client.get("/patients/")["Location"] == REQUIRED


def test_it_lets_a_user_with_a_totp_app_through(personas, login):
    client = login(personas.alice)
    assert client.get("/").status_code == 200


def test_it_lets_the_user_enrol_a_totp_app_then_reach_the_data(newcomer, login, django_capture_on_commit_callbacks):
    client = login(newcomer)
    r = client.get(reverse("mfa_activate_totp"))
    if r.status_code == 302:  # allauth may ask to confirm the password first
        assert r["Location"].startswith(reverse("account_reauthenticate"))
        reauthenticate(client)
        r = client.get(reverse("mfa_activate_totp"))
    assert r.status_code == 200
    secret = client.session["mfa.totp.secret"]

    # allauth signals the new authenticator once the request's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("mfa_activate_totp"), {"code": fresh_totp_code(secret)})
    assert r.status_code == 302, r.context["form"].errors if r.context else r

    assert Authenticator.objects.filter(user=newcomer, type=Authenticator.Type.TOTP).exists()
    assert Event.objects.filter(action=Ev.MFA_ENROLLED, actor=newcomer).exists()
    assert client.get("/patients/").status_code == 200


def test_it_lets_a_locked_session_without_factor_reach_the_unlock_page(newcomer, login):
    # The two guards must not send each other's redirects back and forth.
    client = login(newcomer)
    client.post(reverse("session_lock_now"))
    r = client.get("/patients/")
    assert r["Location"] == reverse("session_locked") + "?next=%2Fpatients%2F"
    assert client.get(reverse("session_locked")).status_code == 200

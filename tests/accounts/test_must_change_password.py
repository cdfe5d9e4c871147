"""A password set by the administrator must be replaced by its owner before anything else."""

import pytest
from django.urls import reverse

from hygie.access.policy import Role
from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import PASSWORD, make_user

CHANGE = "/auth/password/change/"
NEW_PASSWORD = "Aurore-Boreale!2031x"


@pytest.fixture
def newcomer(db):
    return make_user("nadia", Role.TITULAIRE, must_change_password=True)


@pytest.mark.parametrize("url", ["/", "/patients/", "/compte/", "/securite/second-facteur/"])
def test_it_forces_the_password_change_page(newcomer, login, url):
    client = login(newcomer)
    r = client.get(url)
    assert r.status_code == 302
    assert r["Location"] == CHANGE


def test_it_shows_the_change_form_in_french(newcomer, login):
    client = login(newcomer)
    r = client.get(CHANGE)
    assert r.status_code == 200
    assert "Mot de passe actuel" in r.content.decode()


def test_it_refuses_a_new_password_too_weak_for_the_cnil(newcomer, login):
    client = login(newcomer)
    r = client.post(CHANGE, {"oldpassword": PASSWORD, "password1": "nadia2024", "password2": "nadia2024"})
    assert r.status_code == 200
    assert r.context["form"].errors
    newcomer.refresh_from_db()
    assert newcomer.must_change_password
    assert client.get("/").status_code == 302


def test_it_lets_the_user_through_after_changing(newcomer, login):
    client = login(newcomer)
    r = client.post(CHANGE, {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert r.status_code == 302

    newcomer.refresh_from_db()
    assert not newcomer.must_change_password
    assert newcomer.check_password(NEW_PASSWORD)
    assert Event.objects.filter(action=Ev.PASSWORD_CHANGED, actor=newcomer).exists()
    # Still signed in, and now free to work.
    assert client.get("/").status_code == 200
    assert client.get("/patients/").status_code == 200


def test_it_lets_a_locked_session_that_must_change_password_reach_the_unlock_page(newcomer, login):
    client = login(newcomer)
    client.post(reverse("session_lock_now"))
    assert client.get("/").status_code == 302
    assert client.get(reverse("session_locked")).status_code == 200

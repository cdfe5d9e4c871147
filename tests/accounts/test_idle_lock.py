"""Automatic lock after IDLE_LOCK_MINUTES without activity, and "lock now"."""

import pytest
from django.conf import settings
from django.urls import reverse

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.accounts.flows import go_idle, is_signed_in, reauthenticate
from tests.factories import PASSWORD

LOCKED = "/session/verrouillee/"
FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


def idle_limit() -> int:
    return settings.IDLE_LOCK_MINUTES * 60


@pytest.fixture
def alice(personas, login):
    return login(personas.alice)


def test_it_keeps_an_active_session_open(alice):
    go_idle(alice, idle_limit() - 5)
    assert alice.get("/patients/").status_code == 200


def test_it_locks_a_session_idle_for_too_long(alice, personas):
    go_idle(alice, idle_limit() + 1)

    r = alice.get("/patients/")
    assert r.status_code == 302 and r["Location"] == LOCKED
    assert is_signed_in(alice), "locked, not logged out: the work in progress is kept"
    assert Event.objects.filter(action=Ev.SESSION_IDLE_LOCKED, actor=personas.alice).count() == 1


def test_it_shows_the_lock_page_without_patient_data(alice, personas):
    go_idle(alice, idle_limit() + 1)
    r = alice.get(LOCKED)
    assert r.status_code == 200
    page = r.content.decode()
    assert "Session verrouillée" in page
    assert "Moreau" not in page  # alice's patient
    assert reverse("account_reauthenticate") in page


def test_it_answers_423_to_the_heartbeat_of_a_locked_page(alice):
    go_idle(alice, idle_limit() + 1)
    r = alice.post(reverse("session_heartbeat"), **FETCH)
    assert r.status_code == 423
    assert r.json() == {"locked": True}


def test_it_answers_423_to_any_background_request_once_locked(alice):
    go_idle(alice, idle_limit() + 1)
    alice.get("/")
    assert alice.get("/patients/", **FETCH).status_code == 423


def test_it_refuses_patient_pages_until_the_password_is_typed_again(alice, personas):
    go_idle(alice, idle_limit() + 1)
    for _ in range(3):
        assert alice.get("/patients/")["Location"] == LOCKED
    # Going back to the lock page and reloading does not unlock either.
    assert alice.get(LOCKED).status_code == 200
    assert alice.get("/patients/")["Location"] == LOCKED

    # A wrong password keeps the session locked.
    r = reauthenticate(alice, "Pas-Le-Bon!Mot42")
    assert r.status_code == 200
    assert alice.get("/patients/")["Location"] == LOCKED

    r = reauthenticate(alice, PASSWORD, next_url="/patients/")
    assert r.status_code == 302 and r["Location"] == "/patients/"
    assert alice.get("/patients/").status_code == 200
    assert alice.get(LOCKED)["Location"] == reverse("dashboard")  # nothing left to unlock
    assert Event.objects.filter(action=Ev.SESSION_UNLOCKED, actor=personas.alice).count() == 1


def test_it_does_not_accept_an_authentication_from_before_the_lock(alice):
    reauthenticate(alice, PASSWORD)
    go_idle(alice, idle_limit() + 1)
    assert alice.get("/patients/")["Location"] == LOCKED
    assert alice.get("/patients/")["Location"] == LOCKED


def test_it_locks_now_on_request(alice, personas):
    r = alice.post(reverse("session_lock_now"))
    assert r.status_code == 302 and r["Location"] == LOCKED
    assert alice.get("/patients/")["Location"] == LOCKED
    assert Event.objects.filter(action=Ev.SESSION_LOCKED, actor=personas.alice).count() == 1


def test_it_locks_now_from_a_script(alice):
    r = alice.post(reverse("session_lock_now"), **FETCH)
    assert r.status_code == 200 and r.json() == {"locked": True}
    assert alice.get("/patients/")["Location"] == LOCKED


def test_it_refuses_lock_now_by_get(alice):
    # A GET must not change state (a link in an e-mail could lock a session).
    assert alice.get(reverse("session_lock_now")).status_code == 405
    assert alice.get("/patients/").status_code == 200


def test_it_counts_a_heartbeat_as_activity(alice):
    go_idle(alice, idle_limit() - 5)
    assert alice.post(reverse("session_heartbeat"), **FETCH).status_code == 200
    go_idle(alice, 10)  # 10 s later: idle_limit + 5 since the page, 10 since the heartbeat
    assert alice.get("/patients/").status_code == 200


def test_it_lets_a_locked_user_log_out(alice):
    go_idle(alice, idle_limit() + 1)
    alice.get("/")
    alice.post(reverse("account_logout"))
    assert not is_signed_in(alice)

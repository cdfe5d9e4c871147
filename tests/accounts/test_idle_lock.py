"""Automatic lock after IDLE_LOCK_MINUTES without activity, and "lock now"."""

import html
import re
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.accounts.flows import go_idle, is_signed_in, reauthenticate
from tests.factories import PASSWORD

LOCKED = "/session/verrouillee/"
# The lock page remembers the page the user was on: the unlock returns there.
LOCKED_FROM_PATIENTS = "/session/verrouillee/?next=%2Fpatients%2F"
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
    assert r.status_code == 302 and r["Location"] == LOCKED_FROM_PATIENTS
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
        assert alice.get("/patients/")["Location"] == LOCKED_FROM_PATIENTS
    # Going back to the lock page and reloading does not unlock either.
    assert alice.get(LOCKED).status_code == 200
    assert alice.get("/patients/")["Location"] == LOCKED_FROM_PATIENTS

    # A wrong password keeps the session locked.
    r = reauthenticate(alice, "Pas-Le-Bon!Mot42")
    assert r.status_code == 200
    assert alice.get("/patients/")["Location"] == LOCKED_FROM_PATIENTS

    r = reauthenticate(alice, PASSWORD, next_url="/patients/")
    assert r.status_code == 302 and r["Location"] == "/patients/"
    assert alice.get("/patients/").status_code == 200
    assert alice.get(LOCKED)["Location"] == reverse("dashboard")  # nothing left to unlock
    assert Event.objects.filter(action=Ev.SESSION_UNLOCKED, actor=personas.alice).count() == 1


def test_it_does_not_accept_an_authentication_from_before_the_lock(alice):
    reauthenticate(alice, PASSWORD)
    go_idle(alice, idle_limit() + 1)
    assert alice.get("/patients/")["Location"] == LOCKED_FROM_PATIENTS
    assert alice.get("/patients/")["Location"] == LOCKED_FROM_PATIENTS


def test_it_locks_now_on_request(alice, personas):
    r = alice.post(reverse("session_lock_now"))
    assert r.status_code == 302 and r["Location"] == LOCKED
    assert alice.get("/patients/")["Location"] == LOCKED_FROM_PATIENTS
    assert Event.objects.filter(action=Ev.SESSION_LOCKED, actor=personas.alice).count() == 1


def test_it_locks_now_from_a_script(alice):
    r = alice.post(reverse("session_lock_now"), **FETCH)
    assert r.status_code == 200 and r.json() == {"locked": True}
    assert alice.get("/patients/")["Location"] == LOCKED_FROM_PATIENTS


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


# --- The unlock returns to the page the user was on ---------------------------------------

def _unlock_link(client, lock_url: str) -> str:
    page = client.get(lock_url).content.decode()
    return html.unescape(re.search(r'id="unlock" href="([^"]+)"', page).group(1))


def _next_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["next"][0]


def test_it_returns_to_the_page_left_after_the_unlock(alice, personas):
    page = f"/patients/{personas.alice_patient.public_id}/"
    go_idle(alice, idle_limit() + 1)

    lock_url = alice.get(page)["Location"]
    assert _next_of(lock_url) == page
    unlock = _unlock_link(alice, lock_url)
    assert urlsplit(unlock).path == reverse("account_reauthenticate") and _next_of(unlock) == page

    r = reauthenticate(alice, PASSWORD, next_url=quote(page, safe=""))
    assert r.status_code == 302 and r["Location"] == page
    assert alice.get(page).status_code == 200


def test_a_form_sent_while_locked_returns_to_its_form_page(alice, personas):
    form_page = f"/patients/{personas.alice_patient.public_id}/modifier/"
    go_idle(alice, idle_limit() + 1)
    r = alice.post(form_page, {"birth_name": "X"}, HTTP_REFERER=f"http://testserver{form_page}")
    assert r.status_code == 302 and _next_of(r["Location"]) == form_page
    # Nothing was saved, and the unlock leads back to the form (by GET: a POST is never replayed).
    personas.alice_patient.refresh_from_db()
    assert personas.alice_patient.birth_name == "Moreau"
    assert _next_of(_unlock_link(alice, r["Location"])) == form_page


def test_a_form_sent_from_another_site_while_locked_returns_to_the_dashboard(alice, personas):
    go_idle(alice, idle_limit() + 1)
    r = alice.post("/patients/nouveau/", {}, HTTP_REFERER="https://ailleurs.example/patients/nouveau/")
    assert r["Location"] == LOCKED
    assert _next_of(_unlock_link(alice, LOCKED)) == reverse("dashboard")


def test_lock_now_returns_to_the_page_of_the_button(alice):
    r = alice.post(reverse("session_lock_now"), {"next": "/agenda/?jour=2026-03-02"})
    assert r["Location"] == LOCKED + "?next=%2Fagenda%2F%3Fjour%3D2026-03-02"
    assert _next_of(_unlock_link(alice, r["Location"])) == "/agenda/?jour=2026-03-02"


@pytest.mark.parametrize(
    "target",
    [
        "https://ailleurs.example/",
        "//ailleurs.example/patients/",
        "/\\ailleurs.example/",
        "\\\\ailleurs.example",
        "javascript:alert(1)",
        "http://ailleurs.example@testserver.evil/",
        "/session/verrouillee/",  # the lock flow itself would loop
        "/session/verrouiller/",
        "/auth/logout/",
        "/static/hygie/hygie.js",
    ],
)
def test_it_never_returns_elsewhere(alice, target):
    go_idle(alice, idle_limit() + 1)
    alice.get("/")
    lock_url = f"{LOCKED}?{urlencode({'next': target})}"
    assert _next_of(_unlock_link(alice, lock_url)) == reverse("dashboard")
    # Lock now from a forged form: same refusal.
    assert alice.post(reverse("session_lock_now"), {"next": target})["Location"] == LOCKED


@pytest.mark.parametrize("target", ["http://testserver/patients/?page=2", "https://testserver/patients/?page=2"])
def test_it_accepts_an_absolute_address_of_this_site_as_its_path(alice, target):
    go_idle(alice, idle_limit() + 1)
    alice.get("/")
    lock_url = f"{LOCKED}?{urlencode({'next': target})}"
    assert _next_of(_unlock_link(alice, lock_url)) == "/patients/?page=2"


def test_it_refuses_plain_http_for_a_request_served_in_https(alice):
    go_idle(alice, idle_limit() + 1)
    lock_url = f"{LOCKED}?{urlencode({'next': 'http://testserver/patients/'})}"
    page = alice.get(lock_url, secure=True).content.decode()
    unlock = html.unescape(re.search(r'id="unlock" href="([^"]+)"', page).group(1))
    assert _next_of(unlock) == reverse("dashboard")


def test_the_lock_page_of_an_unlocked_session_leads_to_the_page_or_the_dashboard(alice):
    assert alice.get(f"{LOCKED}?next=%2Fpatients%2F")["Location"] == "/patients/"
    assert alice.get(f"{LOCKED}?next=https%3A%2F%2Failleurs.example%2F")["Location"] == reverse("dashboard")

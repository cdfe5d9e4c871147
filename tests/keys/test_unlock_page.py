"""A locked server (passphrase mode) answers the unlock page on every page, and no patient data."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.keys import service
from hygie.keys.views import UNLOCK_ATTEMPTS
from tests.keys.conftest import PASSPHRASE

UNLOCK = "/cles/deverrouiller/"
WRONG = "cheval agrafe batterie correcte soleil lune marais"


def _pages(personas) -> list[str]:
    detail = reverse("patient_detail", args=[personas.alice_patient.public_id])
    return [
        "/",
        "/patients/",
        detail,
        "/patients/recherche/?q=Moreau",
        "/agenda/",
        "/auth/login/",
        "/cles/kit-de-recuperation/",
    ]


def _no_patient_data(response) -> None:
    body = response.content.decode()
    for name in ("Moreau", "MOREAU", "Jeanne", "Bernard"):
        assert name not in body


def test_it_answers_every_page_with_the_unlock_page_while_locked(personas, login, protected_key_file):
    client = login(personas.alice)
    for url in [*_pages(personas), UNLOCK]:
        response = client.get(url)
        assert response.status_code == 503, url
        assert "Hygie est verrouillé" in response.content.decode() and 'name="passphrase"' in response.content.decode()
        _no_patient_data(response)
    assert client.post("/patients/nouveau/", {"birth_name": "Intrus"}).status_code == 503
    assert client.get("/static/hygie/hygie.css").status_code == 200


def test_it_unlocks_with_the_right_passphrase(personas, login, protected_key_file):
    client = login(personas.alice)
    response = client.post(UNLOCK, {"passphrase": PASSPHRASE})
    assert response.status_code == 302
    assert not service.is_locked()
    detail = client.get(reverse("patient_detail", args=[personas.alice_patient.public_id]))
    assert detail.status_code == 200 and "MOREAU" in detail.content.decode()
    assert Client().get("/auth/login/").status_code == 200
    assert client.get(UNLOCK).status_code == 302  # nothing to unlock any more
    event = Event.objects.get(action=Ev.KEYS_UNLOCKED)
    assert event.details == {"channel": "web"} and event.ip == "127.0.0.1"


def test_it_refuses_a_wrong_passphrase_and_throttles_attempts(personas, protected_key_file):
    client = Client()
    for _ in range(UNLOCK_ATTEMPTS):
        response = client.post(UNLOCK, {"passphrase": WRONG})
        assert response.status_code == 503 and "Phrase de passe incorrecte" in response.content.decode()
    # Even the right passphrase waits now.
    response = client.post(UNLOCK, {"passphrase": PASSPHRASE})
    assert response.status_code == 429 and "Trop de tentatives" in response.content.decode()
    assert service.is_locked()
    assert Event.objects.filter(action=Ev.KEYS_UNLOCK_FAILED, outcome="failure").count() == UNLOCK_ATTEMPTS
    assert not Event.objects.filter(action=Ev.KEYS_UNLOCKED).exists()
    # Another address is not blocked.
    assert client.post(UNLOCK, {"passphrase": PASSPHRASE}, REMOTE_ADDR="10.0.0.9").status_code == 302


def test_it_needs_the_csrf_token(personas, protected_key_file):
    client = Client(enforce_csrf_checks=True)
    assert client.post(UNLOCK, {"passphrase": PASSPHRASE}).status_code == 403
    assert service.is_locked()
    page = client.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post(UNLOCK, {"passphrase": PASSPHRASE, "csrfmiddlewaretoken": token}).status_code == 302
    assert not service.is_locked()


def test_it_never_shows_the_unlock_page_with_a_plain_key_file(personas, login):
    assert login(personas.alice).get("/").status_code == 200
    assert Client().get(UNLOCK).status_code == 302

"""The dashboard: previous login shown (older CNIL health guidance), failures since."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.test import Client

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.accounts.flows import sign_in, submit_password


def _login_twice(user) -> Client:
    client = Client()
    sign_in(client, user)
    client.post("/auth/logout/")
    sign_in(client, user)
    return client


def test_it_shows_the_date_and_time_of_the_previous_login(personas):
    client = _login_twice(personas.alice)
    first = Event.objects.filter(action=Ev.LOGIN_SUCCEEDED, actor=personas.alice).order_by("id").first()
    first.at = datetime(2025, 3, 4, 8, 15, tzinfo=ZoneInfo("Europe/Paris"))
    first.ip = "192.0.2.7"
    first.save()

    page = client.get("/").content.decode()
    assert "Dernière connexion : mardi 4 mars 2025 à 08:15 (adresse 192.0.2.7)." in page


def test_it_says_when_it_is_the_first_login(personas):
    client = Client()
    sign_in(client, personas.alice)
    assert "Première connexion à ce compte." in client.get("/").content.decode()


def test_it_counts_failed_attempts_since_the_previous_login(personas):
    client = Client()
    sign_in(client, personas.alice)
    client.post("/auth/logout/")
    submit_password(client, "alice", "Pas-Le-Bon!Mot42")
    submit_password(client, "alice", "Pas-Le-Bon!Mot43")
    sign_in(client, personas.alice)
    assert "2 tentatives de connexion échouées depuis." in client.get("/").content.decode()


def test_it_does_not_show_another_users_logins(personas):
    _login_twice(personas.bob)
    client = Client()
    sign_in(client, personas.alice)
    assert "Première connexion à ce compte." in client.get("/").content.decode()


def test_it_greets_in_french(personas, login):
    page = login(personas.alice).get("/").content.decode()
    assert '<html lang="fr">' in page
    assert "Bonjour Alice Durand" in page

"""The dashboard: previous login shown (older CNIL health guidance), failures since."""

import re
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


def test_todays_appointments_are_those_of_the_users_agenda_in_time_order(personas, login):
    from datetime import time, timedelta

    from django.utils import timezone

    from tests.factories import make_appointment, make_patient

    today = timezone.localdate()
    at = lambda h, m=0: timezone.make_aware(datetime.combine(today, time(h, m)))  # noqa: E731
    other = make_patient(personas.alice, birth_name="Zola", first_names="Emile")
    make_appointment(other, personas.alice, start=at(11, 30))
    make_appointment(personas.alice_patient, personas.alice, start=at(8, 10))
    make_appointment(personas.alice_patient, personas.alice, start=at(8, 10) + timedelta(days=1))
    make_appointment(personas.bob_patient, personas.bob, start=at(9))
    for who in (personas.alice, personas.sophie):
        page = login(who).get("/").content.decode()
        rows = re.findall(r"<tr><td>(\d\d:\d\d)</td><td>[^<]*</td><td>([^<]*)</td></tr>", page)
        assert rows == [("08:10", "MOREAU Jeanne"), ("11:30", "ZOLA Emile")], who
    bob = login(personas.bob).get("/").content.decode()
    assert re.findall(r"<tr><td>(\d\d:\d\d)</td>", bob) == ["09:00"]

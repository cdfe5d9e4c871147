from datetime import datetime, time, timedelta

from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_appointment, make_patient

URL = "/agenda/"


def _at(day, hour, minute=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def test_it_redirects_anonymous_to_login(client, db):
    r = client.get(URL)
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_shows_the_day_to_the_titulaire(personas, login):
    today = timezone.localdate()
    make_appointment(personas.alice_patient, personas.alice, start=_at(today, 9, 30), reason="Renouvellement")
    make_appointment(personas.bob_patient, personas.bob, start=_at(today, 10))
    r = login(personas.alice).get(URL)
    assert r.status_code == 200
    body = r.content.decode()
    assert "09:30" in body
    assert "MOREAU Jeanne" in body
    assert "Renouvellement" in body
    assert "BERNARD" not in body


def test_it_shows_the_replaced_titulaires_agenda_to_the_remplacant(personas, login):
    today = timezone.localdate()
    make_appointment(personas.alice_patient, personas.alice, start=_at(today, 11))
    r = login(personas.remi).get(URL)
    assert r.status_code == 200
    assert "MOREAU Jeanne" in r.content.decode()


def test_it_shows_names_to_the_secretary(personas, login):
    today = timezone.localdate()
    make_appointment(personas.alice_patient, personas.alice, start=_at(today, 14))
    r = login(personas.sophie).get(URL)
    assert r.status_code == 200
    assert "MOREAU Jeanne" in r.content.decode()


def test_it_forbids_roles_without_the_agenda(personas, login):
    for user in (personas.fabien, personas.regine, personas.adam):
        assert login(user).get(URL).status_code == 403


def test_it_shows_another_week(personas, login):
    later = timezone.localdate() + timedelta(days=8)
    make_appointment(personas.alice_patient, personas.alice, start=_at(later, 8, 15))
    client = login(personas.alice)
    assert "08:15 ·" not in client.get(URL).content.decode()
    r = client.get(URL, {"jour": later.isoformat()})
    assert "08:15 ·" in r.content.decode()
    assert f"jour={(later + timedelta(days=7)).isoformat()}" in r.content.decode()


def test_it_ignores_a_malformed_day(personas, login):
    r = login(personas.alice).get(URL, {"jour": "pas-une-date"})
    assert r.status_code == 200


def test_it_filters_by_practitioner(personas, login):
    personas.sophie.assists.add(personas.bob)
    carl = make_patient(personas.bob, birth_name="Petit", first_names="Carl")
    today = timezone.localdate()
    make_appointment(personas.alice_patient, personas.alice, start=_at(today, 9))
    make_appointment(carl, personas.bob, start=_at(today, 10))
    client = login(personas.sophie)
    body = client.get(URL).content.decode()
    assert "MOREAU" in body and "PETIT" in body
    body = client.get(URL, {"praticien": str(personas.bob.public_id)}).content.decode()
    assert "PETIT" in body and "MOREAU" not in body


def test_it_refuses_a_practitioner_filter_outside_the_scope(personas, login):
    r = login(personas.sophie).get(URL, {"praticien": str(personas.bob.public_id)})
    assert r.status_code == 404


def test_it_writes_agenda_viewed(personas, login):
    today = timezone.localdate()
    make_appointment(personas.alice_patient, personas.alice, start=_at(today, 9))
    login(personas.alice).get(URL)
    event = Event.objects.get(action=Ev.AGENDA_VIEWED, actor=personas.alice)
    assert event.details == {"day": today.isoformat(), "view": "semaine", "count": 1, "practitioner": personas.alice.pk}

"""The patient picker of the booking form: the chosen practitioner's patients only, the query
POSTed (never in a URL) and never journaled; the same search without JavaScript."""

from datetime import timedelta

from django.utils import timezone

from hygie.agenda.models import Appointment
from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_patient

URL = "/agenda/patients/"
FORM = "/agenda/nouveau/"


def _search(client, practitioner, q):
    return client.post(URL, {"praticien": str(practitioner.public_id), "q": q})


def test_it_finds_the_practitioners_patients_by_name_or_birth_date(personas, login):
    client = login(personas.sophie)
    data = _search(client, personas.alice, "moreau").json()
    assert [r["id"] for r in data["results"]] == [str(personas.alice_patient.public_id)]
    assert "MOREAU Jeanne" in data["results"][0]["label"]
    assert personas.alice_patient.code in data["results"][0]["label"]
    data = _search(client, personas.alice, "17/05/1980").json()
    assert [r["id"] for r in data["results"]] == [str(personas.alice_patient.public_id)]


def test_it_searches_only_the_chosen_practitioners_patients(personas, login):
    # Sophie works for both: searching in alice's agenda must not bring bob's patients.
    personas.sophie.assists.add(personas.bob)
    client = login(personas.sophie)
    assert _search(client, personas.alice, "bernard").json()["results"] == []
    assert len(_search(client, personas.bob, "bernard").json()["results"]) == 1


def test_it_refuses_a_practitioner_outside_the_agenda(personas, login):
    r = _search(login(personas.sophie), personas.bob, "bernard")
    assert r.status_code == 404


def test_it_refuses_roles_without_the_agenda(personas, login):
    for user in (personas.fabien, personas.regine, personas.adam):
        assert _search(login(user), personas.alice, "moreau").status_code == 403


def test_it_refuses_get(personas, login):
    assert login(personas.alice).get(URL, {"q": "moreau"}).status_code == 405


def test_it_journals_the_count_never_the_query(personas, login):
    _search(login(personas.alice), personas.alice, "moreau")
    event = Event.objects.get(action=Ev.PATIENT_SEARCHED)
    assert event.details == {"results": 1, "more": False, "picker": "agenda"}
    assert "moreau" not in str(event.details).lower()


def test_it_says_when_there_are_more(personas, login):
    for i in range(21):
        make_patient(personas.alice, birth_name="Moreau", first_names=f"Paul{i}")
    data = _search(login(personas.alice), personas.alice, "moreau").json()
    assert len(data["results"]) == 20 and data["more"] is True


def test_it_works_without_javascript(personas, login):
    client = login(personas.sophie)
    day = timezone.localdate() + timedelta(days=3)
    form = {
        "practitioner": str(personas.alice.public_id),
        "patient_q": "jeanne",
        "day": day.strftime("%d/%m/%Y"),
        "time": "10:00",
        "duration_minutes": "20",
        "reason": "",
    }
    r = client.post(FORM, {**form, "chercher": "1"})
    body = r.content.decode()
    assert r.status_code == 200
    assert f'value="{personas.alice_patient.public_id}"' in body and 'type="radio"' in body
    assert "1 patient trouvé" in body
    assert not Appointment.objects.exists()
    r = client.post(FORM, {**form, "patient": str(personas.alice_patient.public_id)})
    assert r.status_code == 302
    assert Appointment.objects.get().patient == personas.alice_patient


def test_it_warns_and_asks_to_confirm_a_past_date(personas, login):
    client = login(personas.alice)
    past = timezone.localdate() - timedelta(days=2)
    assert "cette date est passée" in client.get(FORM, {"jour": past.isoformat()}).content.decode()
    form = {
        "practitioner": str(personas.alice.public_id),
        "patient": str(personas.alice_patient.public_id),
        "day": past.strftime("%d/%m/%Y"),
        "time": "10:00",
        "duration_minutes": "20",
    }
    r = client.post(FORM, form)
    assert r.status_code == 200
    assert "Ce rendez-vous est dans le passé" in r.content.decode()
    assert not Appointment.objects.exists()
    assert client.post(FORM, {**form, "confirm_past": "on"}).status_code == 302
    assert Appointment.objects.count() == 1

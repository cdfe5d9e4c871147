from datetime import timedelta

from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.patients.models import Consultation
from tests.factories import make_consultation


def _new(patient):
    return f"/patients/{patient.public_id}/consultations/nouvelle/"


def _detail(c):
    return f"/patients/consultations/{c.public_id}/"


def _edit(c):
    return f"/patients/consultations/{c.public_id}/modifier/"


DATA = {"date": "02/03/2024 14:30", "motif": "Lombalgie aiguë", "observations": "Contracture paravertébrale"}


def test_it_redirects_anonymous_to_login(personas, client):
    c = make_consultation(personas.alice_patient, personas.alice)
    for url in (_new(personas.alice_patient), _detail(c), _edit(c)):
        r = client.get(url)
        assert r.status_code == 302
        assert "/auth/login/" in r["Location"]


def test_it_hides_other_patienteles(personas, login):
    c = make_consultation(personas.alice_patient, personas.alice)
    client = login(personas.bob)
    assert client.post(_new(personas.alice_patient), DATA).status_code == 404
    assert client.get(_detail(c)).status_code == 404
    assert client.post(_edit(c), DATA).status_code == 404
    assert Consultation.objects.count() == 1
    assert not Event.objects.filter(action=Ev.CONSULTATION_VIEWED).exists()


def test_it_refuses_non_medical_roles(personas, login):
    c = make_consultation(personas.alice_patient, personas.alice)
    # The secretary and billing work for alice: in scope, without the capability.
    for user in (personas.sophie, personas.fabien):
        client = login(user)
        assert client.post(_new(personas.alice_patient), DATA).status_code == 403
        assert client.get(_detail(c)).status_code == 403
        assert client.post(_edit(c), DATA).status_code == 403
    for user in (personas.regine, personas.adam):
        client = login(user)
        assert client.get(_new(personas.alice_patient)).status_code == 404
        assert client.get(_detail(c)).status_code == 404
    c.refresh_from_db()
    assert c.motif == "Contrôle"
    assert Consultation.objects.count() == 1


def test_it_creates_a_consultation_by_the_practitioner(personas, login):
    client = login(personas.remi)
    form = client.get(_new(personas.alice_patient)).content.decode()
    assert timezone.localtime().strftime("%Y-%m-%d") in form  # defaults to now
    r = client.post(_new(personas.alice_patient), DATA)
    c = Consultation.objects.get()
    assert r.status_code == 302
    assert r["Location"] == _detail(c)
    assert c.practitioner == personas.remi
    assert c.patient == personas.alice_patient
    local = timezone.localtime(c.date)
    assert (local.day, local.month, local.year, local.hour, local.minute) == (2, 3, 2024, 14, 30)
    event = Event.objects.get(action=Ev.CONSULTATION_CREATED, actor=personas.remi)
    assert event.patient_id == personas.alice_patient.pk
    assert "Lombalgie" not in repr(event.details)


def test_it_refuses_bad_input(personas, login):
    client = login(personas.alice)
    tomorrow = (timezone.localtime() + timedelta(days=2)).strftime("%d/%m/%Y %H:%M")
    for data, message in (
        ({**DATA, "date": tomorrow}, "ne peut pas être postérieure"),
        ({**DATA, "date": "32/01/2024 10:00"}, "JJ/MM/AAAA HH:MM"),
        ({**DATA, "motif": "   "}, "obligatoire"),
    ):
        r = client.post(_new(personas.alice_patient), data)
        assert r.status_code == 200
        assert message in r.content.decode(), message
    assert not Consultation.objects.exists()


def test_it_shows_a_consultation_and_journals_it(personas, login):
    c = make_consultation(personas.alice_patient, personas.alice, motif="Entorse", observations="Cheville droite")
    r = login(personas.remi).get(_detail(c))
    assert r.status_code == 200
    body = r.content.decode()
    assert "Entorse" in body and "Cheville droite" in body
    event = Event.objects.get(action=Ev.CONSULTATION_VIEWED, actor=personas.remi)
    assert event.target_id == str(c.pk)
    assert event.patient_id == personas.alice_patient.pk


def test_it_edits_a_consultation(personas, login):
    c = make_consultation(personas.alice_patient, personas.alice)
    client = login(personas.alice)
    assert client.get(_edit(c)).status_code == 200
    r = client.post(_edit(c), {**DATA, "date": timezone.localtime(c.date).strftime("%d/%m/%Y %H:%M")})
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.motif == "Lombalgie aiguë"
    event = Event.objects.get(action=Ev.CONSULTATION_UPDATED, actor=personas.alice)
    assert event.details == {"fields": ["motif", "observations"], "revision": str(c.revisions.first().public_id)}

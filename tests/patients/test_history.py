from hygie.audit.events import Ev
from hygie.audit.models import Event


def _url(patient):
    return f"/patients/{patient.public_id}/antecedents/"


def test_it_redirects_anonymous_to_login(personas, client):
    r = client.get(_url(personas.alice_patient))
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_hides_other_patienteles(personas, login):
    assert login(personas.bob).post(_url(personas.alice_patient), {"history": "x"}).status_code == 404


def test_it_refuses_non_medical_roles(personas, login):
    p = personas.alice_patient
    assert login(personas.sophie).post(_url(p), {"history": "Diabète"}).status_code == 403
    assert login(personas.fabien).get(_url(p)).status_code == 403
    assert login(personas.adam).get(_url(p)).status_code == 404
    p.refresh_from_db()
    assert p.history == ""


def test_it_updates_the_history_and_journals_it(personas, login):
    p = personas.alice_patient
    client = login(personas.remi)
    assert client.get(_url(p)).status_code == 200
    assert Event.objects.filter(action=Ev.HISTORY_VIEWED, actor=personas.remi).count() == 1
    r = client.post(_url(p), {"history": "Diabète de type 2"})
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.history == "Diabète de type 2"
    event = Event.objects.get(action=Ev.HISTORY_UPDATED, actor=personas.remi)
    assert event.patient_id == p.pk
    assert "Diabète" not in repr(event.details) + event.reason

from hygie.audit.events import Ev
from hygie.audit.models import Event


def _url(patient):
    return f"/patients/{patient.public_id}/modifier/"


def _data(patient, **extra):
    data = {
        "birth_name": patient.birth_name,
        "usage_name": patient.usage_name,
        "first_names": patient.first_names,
        "birth_date": patient.birth_date.strftime("%d/%m/%Y"),
        "sex": patient.sex,
        "ins": patient.ins,
        "phone": patient.phone,
        "email": patient.email,
        "address": patient.address,
    }
    data.update(extra)
    return data


def test_it_redirects_anonymous_to_login(personas, client):
    r = client.get(_url(personas.alice_patient))
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_hides_other_patienteles(personas, login):
    p = personas.alice_patient
    assert login(personas.bob).post(_url(p), _data(p, phone="0700000000")).status_code == 404
    p.refresh_from_db()
    assert p.phone == ""


def test_it_refuses_roles_without_identity_edit(personas, login):
    p = personas.alice_patient
    assert login(personas.fabien).post(_url(p), _data(p, phone="0700000000")).status_code == 403
    assert login(personas.regine).get(_url(p)).status_code == 404


def test_it_lets_practitioners_and_the_secretary_edit(personas, login):
    p = personas.alice_patient
    for user, phone in ((personas.alice, "0611111111"), (personas.sophie, "0622222222")):
        client = login(user)
        assert client.get(_url(p)).status_code == 200
        r = client.post(_url(p), _data(p, phone=phone))
        assert r.status_code == 302
        assert r["Location"] == f"/patients/{p.public_id}/"
        p.refresh_from_db()
        assert p.phone == phone
    events = Event.objects.filter(action=Ev.PATIENT_UPDATED, patient_id=p.pk)
    assert events.count() == 2
    assert events.first().details == {"fields": ["phone"]}


def test_it_keeps_the_death_date_to_medical_roles(personas, login):
    p = personas.alice_patient
    assert 'name="death_date"' not in login(personas.sophie).get(_url(p)).content.decode()
    client = login(personas.alice)
    assert 'name="death_date"' in client.get(_url(p)).content.decode()
    client.post(_url(p), _data(p, death_date="02/01/2024"))
    p.refresh_from_db()
    assert p.death_date.isoformat() == "2024-01-02"
    client.post(_url(p), _data(p, death_date=""))
    p.refresh_from_db()
    assert p.death_date is None


def test_it_changes_nothing_on_bad_input(personas, login):
    p = personas.alice_patient
    r = login(personas.alice).post(_url(p), _data(p, birth_date="17-05-80", phone="0633333333"))
    assert r.status_code == 200
    assert "JJ/MM/AAAA" in r.content.decode()
    p.refresh_from_db()
    assert p.phone == ""
    assert not Event.objects.filter(action=Ev.PATIENT_UPDATED).exists()

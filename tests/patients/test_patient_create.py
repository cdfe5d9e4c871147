from datetime import date

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.patients.models import CareTeamMember, Patient
from tests.factories import patient_named, patients_named

URL = "/patients/nouveau/"


def _nir(head13: str) -> str:
    """A valid 15-character INS: the 13 characters and their key (2A/2B count as 19/18)."""
    number = int(head13.replace("2A", "19").replace("2B", "18"))
    return f"{head13}{97 - number % 97:02d}"


def _data(**extra):
    data = {
        "birth_name": "Dupont",
        "usage_name": "",
        "first_names": "Marie",
        "birth_date": "03/04/1971",
        "sex": "F",
        "ins": "",
        "phone": "",
        "email": "",
        "address": "",
    }
    data.update(extra)
    return data


def _team(patient):
    return set(CareTeamMember.objects.filter(patient=patient).values_list("practitioner__username", flat=True))


def test_it_redirects_anonymous_to_login(client, db):
    r = client.get(URL)
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_refuses_roles_without_patient_create(personas, login):
    for user in (personas.fabien, personas.regine, personas.adam):
        client = login(user)
        assert client.get(URL).status_code == 403
        assert client.post(URL, _data()).status_code == 403
    assert not patients_named("Dupont")


def test_it_creates_a_patient_in_the_titulaires_patientele(personas, login):
    r = login(personas.alice).post(URL, _data())
    patient = patient_named("Dupont")
    assert r.status_code == 302
    assert r["Location"] == f"/patients/{patient.public_id}/"
    assert patient.birth_date == date(1971, 4, 3)
    assert _team(patient) == {"alice"}
    event = Event.objects.get(action=Ev.PATIENT_CREATED, actor=personas.alice)
    assert event.patient_id == patient.pk


def test_it_accepts_iso_dates_too(personas, login):
    login(personas.alice).post(URL, _data(birth_date="1971-04-03"))
    assert patient_named("Dupont").birth_date == date(1971, 4, 3)


def test_it_puts_the_locums_patient_in_the_replaced_patientele(personas, login):
    login(personas.remi).post(URL, _data())
    assert _team(patient_named("Dupont")) == {"alice"}


def test_it_lets_a_secretary_choose_among_her_titulaires(personas, login):
    client = login(personas.sophie)
    # Working for alice only: no question asked.
    assert 'name="practitioner"' not in client.get(URL).content.decode()
    personas.sophie.assists.add(personas.bob)
    body = client.get(URL).content.decode()
    assert 'name="practitioner"' in body
    r = client.post(URL, _data())
    assert r.status_code == 200
    assert not patients_named("Dupont")
    r = client.post(URL, _data(practitioner=str(personas.bob.public_id)))
    assert r.status_code == 302
    assert _team(patient_named("Dupont")) == {"bob"}


def test_it_refuses_a_titulaire_the_secretary_does_not_work_for(personas, login):
    personas.sophie.assists.add(personas.bob)
    personas.sophie.assists.remove(personas.alice)
    charlie = type(personas.alice).objects.create(username="charlie", role="titulaire")
    personas.sophie.assists.add(charlie)
    # A third titulaire she does not work for: here alice.
    r = login(personas.sophie).post(URL, _data(practitioner=str(personas.alice.public_id)))
    assert r.status_code == 200
    assert "Choisissez un praticien de la liste." in r.content.decode()
    assert not patients_named("Dupont")


def test_it_refuses_a_duplicate(personas, login):
    client = login(personas.alice)
    r = client.post(URL, _data(birth_name="MOREAU", first_names="Jeanne", birth_date="17/05/1980"))
    assert r.status_code == 200
    body = r.content.decode()
    assert "existe déjà" in body
    assert f"/patients/{personas.alice_patient.public_id}/" in body
    assert Patient.objects.count() == 2
    client.post(URL, _data())
    r = client.post(URL, _data())
    assert r.status_code == 200
    assert len(patients_named("Dupont")) == 1


def test_it_allows_the_same_identity_in_another_patientele(personas, login):
    r = login(personas.bob).post(URL, _data(birth_name="Moreau", first_names="Jeanne", birth_date="17/05/1980"))
    assert r.status_code == 302


def test_it_validates_the_ins_key(personas, login):
    client = login(personas.alice)
    good = _nir("2710475123456")
    bad = good[:-2] + f"{(int(good[-2:]) + 1) % 97:02d}"
    r = client.post(URL, _data(ins=bad))
    assert r.status_code == 200
    assert "INS invalide" in r.content.decode()
    assert client.post(URL, _data(ins="12345")).status_code == 200
    assert not patients_named("Dupont")
    spaced = " ".join([good[:1], good[1:3], good[3:5], good[5:7], good[7:10], good[10:13], good[13:]])
    assert client.post(URL, _data(ins=spaced)).status_code == 302
    assert patient_named("Dupont").ins == good


def test_it_accepts_a_corsican_ins(personas, login):
    ins = _nir("18005" + "2A" + "123456")
    r = login(personas.alice).post(URL, _data(ins=ins.lower()))
    assert r.status_code == 302
    assert patient_named("Dupont").ins == ins


def test_it_explains_bad_input_in_french_and_saves_nothing(personas, login):
    client = login(personas.alice)
    cases = [
        (_data(birth_date="31/02/1971"), "Saisissez une date au format JJ/MM/AAAA."),
        (_data(birth_date="01/01/2999"), "ne peut pas être dans le futur"),
        (_data(birth_name=""), "Ce champ est obligatoire."),
        (_data(email="pas-un-mail"), "adresse de courriel valide"),
        (_data(phone="appelez-moi"), "Numéro de téléphone invalide"),
    ]
    for data, message in cases:
        r = client.post(URL, data)
        assert r.status_code == 200
        assert message in r.content.decode(), message
    assert not patients_named("Dupont")
    assert not Event.objects.filter(action=Ev.PATIENT_CREATED).exists()

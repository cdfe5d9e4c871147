from datetime import date

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_patient

URL = "/patients/"


def test_it_redirects_anonymous_to_login(client, db):
    r = client.get(URL)
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_lists_only_the_titulaires_patients(personas, login):
    r = login(personas.alice).get(URL)
    assert r.status_code == 200
    body = r.content.decode()
    assert "MOREAU Jeanne" in body
    assert "BERNARD" not in body
    assert str(personas.alice_patient.public_id) in body


def test_it_shows_the_birth_year_only(personas, login):
    personas.alice_patient.phone = "06 12 34 56 78"
    personas.alice_patient.history = "Asthme sévère"
    personas.alice_patient.save()
    body = login(personas.alice).get(URL).content.decode()
    assert "1980" in body
    assert "17/05/1980" not in body
    assert "06 12 34 56 78" not in body
    assert "Asthme" not in body


def test_it_lists_for_the_secretary_and_the_locum(personas, login):
    for user in (personas.sophie, personas.remi):
        r = login(user).get(URL)
        assert r.status_code == 200
        assert "MOREAU Jeanne" in r.content.decode()


def test_it_refuses_roles_without_patient_list(personas, login):
    for user in (personas.fabien, personas.regine, personas.adam):
        assert login(user).get(URL).status_code == 403


def test_it_paginates_by_50_most_recently_updated_first(personas, login):
    # Names are encrypted at rest: the database orders by last update, not by name.
    for i in range(50):
        make_patient(personas.alice, birth_name=f"Zz{i:02d}", first_names="Test", birth_date=date(1990, 1, 1))
    client = login(personas.alice)
    first = client.get(URL).content.decode()
    assert "ZZ49" in first and "ZZ00" in first
    assert "MOREAU" not in first  # 51 patients: the oldest one is on page 2
    second = client.get(URL + "?page=2").content.decode()
    assert "MOREAU Jeanne" in second


def test_it_journals_the_listing(personas, login):
    login(personas.alice).get(URL)
    event = Event.objects.get(action=Ev.PATIENT_LISTED, actor=personas.alice)
    assert event.details == {"page": 1, "results": 1}


def test_it_heads_the_secretarys_list_with_whose_patients_they_are(personas, login):
    personas.sophie.assists.add(personas.bob)
    body = login(personas.sophie).get("/patients/").content.decode()
    assert "Mes patients" not in body
    assert "Patients des praticiens pour qui je travaille" in body
    row = body[body.index("MOREAU Jeanne"):]
    row = row[: row.index("</tr>")]
    assert personas.alice.display_name in row and personas.alice_patient.code in row


def test_it_keeps_mes_patients_for_the_titulaire(personas, login):
    body = login(personas.alice).get("/patients/").content.decode()
    assert "Mes patients" in body
    assert personas.alice_patient.code in body

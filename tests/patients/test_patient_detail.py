import re

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_consultation


def _url(patient):
    return f"/patients/{patient.public_id}/"


def _main(response):
    """The part of the page the session lock hides: all patient data must be in it."""
    body = response.content.decode()
    return re.search(r"<main\b.*?</main>", body, re.S).group(0), body


def test_it_redirects_anonymous_to_login(personas, client):
    r = client.get(_url(personas.alice_patient))
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_hides_other_patienteles(personas, login):
    assert login(personas.bob).get(_url(personas.alice_patient)).status_code == 404
    assert not Event.objects.filter(action=Ev.PATIENT_VIEWED).exists()


def test_it_answers_404_for_an_unknown_id(personas, login):
    assert login(personas.alice).get("/patients/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_it_refuses_roles_without_identity_view(personas, login):
    # Billing works for alice (her patients are in its scope) but sees no identity: 403.
    assert login(personas.fabien).get(_url(personas.alice_patient)).status_code == 403
    # The referent and the administrator reach no patient at all: 404.
    for user in (personas.regine, personas.adam):
        assert login(user).get(_url(personas.alice_patient)).status_code == 404


def test_it_shows_identity_and_medical_data_to_the_practitioner(personas, login):
    patient = personas.alice_patient
    patient.history = "Allergie à la pénicilline"
    patient.phone = "0612345678"
    patient.save()
    make_consultation(patient, personas.alice, motif="Lombalgie")
    for user in (personas.alice, personas.remi):
        r = login(user).get(_url(patient))
        assert r.status_code == 200
        main, body = _main(r)
        for text in ("MOREAU Jeanne", "17/05/1980", "0612345678", "Allergie à la pénicilline", "Lombalgie",
                     "Équipe de soins"):
            assert text in main, text
        assert "Accès exceptionnel" not in body


def test_it_shows_identity_only_to_the_secretary(personas, login):
    patient = personas.alice_patient
    patient.history = "Allergie à la pénicilline"
    patient.save()
    make_consultation(patient, personas.alice, motif="Lombalgie")
    r = login(personas.sophie).get(_url(patient))
    assert r.status_code == 200
    main, body = _main(r)
    assert "MOREAU Jeanne" in main and "17/05/1980" in main
    for text in ("pénicilline", "Lombalgie", "Antécédents", "Consultations", "Documents"):
        assert text not in body, text


def test_it_journals_the_opening(personas, login):
    login(personas.alice).get(_url(personas.alice_patient))
    login(personas.sophie).get(_url(personas.alice_patient))
    alice = Event.objects.get(action=Ev.PATIENT_VIEWED, actor=personas.alice)
    assert alice.patient_id == personas.alice_patient.pk
    assert alice.details == {"medical": True, "break_glass": False}
    sophie = Event.objects.get(action=Ev.PATIENT_VIEWED, actor=personas.sophie)
    assert sophie.details["medical"] is False

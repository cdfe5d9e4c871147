from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.billing.models import CareSheet

URL = "/facturation/nouvelle/"


def _post(client, personas, patient=None, **overrides):
    data = {
        "patient": patient if patient is not None else str(personas.alice_patient.public_id),
        "practitioner": str(personas.alice.public_id),
        "date": timezone.localdate().strftime("%d/%m/%Y"),
        "acts": "G",
        "amount": "25,50",
    }
    data.update(overrides)
    return client.post(URL, data)


def test_it_redirects_anonymous_to_login(client, db):
    r = client.get(URL)
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_forbids_roles_without_billing(personas, login):
    for user in (personas.sophie, personas.regine, personas.adam):
        assert login(user).get(URL).status_code == 403
        assert _post(login(user), personas).status_code == 403
    assert not CareSheet.objects.exists()


def test_it_offers_patients_by_name_to_the_titulaire(personas, login):
    body = login(personas.alice).get(URL).content.decode()
    assert "MOREAU Jeanne" in body
    assert "BERNARD" not in body


def test_it_creates_a_care_sheet_with_a_french_decimal(personas, login):
    r = _post(login(personas.alice), personas, paid="on")
    assert r.status_code == 302
    sheet = CareSheet.objects.get()
    assert sheet.amount == Decimal("25.50")
    assert sheet.paid is True
    assert sheet.patient == personas.alice_patient
    assert sheet.practitioner == personas.alice


def test_it_never_shows_names_in_the_billing_clerks_form(personas, login):
    body = login(personas.fabien).get(URL).content.decode()
    assert "Code patient" in body
    for text in ("Moreau", "MOREAU", "Jeanne"):
        assert text not in body


def test_it_lets_the_billing_clerk_type_the_patient_code(personas, login):
    code = personas.alice_patient.code
    r = _post(login(personas.fabien), personas, patient=f" {code.lower()} ", amount="1 025,00 €")
    assert r.status_code == 302
    sheet = CareSheet.objects.get()
    assert sheet.patient == personas.alice_patient
    assert sheet.amount == Decimal("1025.00")


def test_it_refuses_a_code_outside_the_clerks_scope(personas, login):
    r = _post(login(personas.fabien), personas, patient=personas.bob_patient.code)
    assert r.status_code == 200
    body = r.content.decode()
    assert "Aucun patient de votre périmètre ne porte ce code." in body
    assert "Bernard" not in body and "BERNARD" not in body
    assert not CareSheet.objects.exists()


def test_it_refuses_a_patient_outside_the_titulaires_scope(personas, login):
    r = _post(login(personas.alice), personas, patient=str(personas.bob_patient.public_id))
    assert r.status_code == 200
    assert "Choix invalide" in r.content.decode()
    assert not CareSheet.objects.exists()


def test_it_refuses_another_titulaire_as_practitioner(personas, login):
    r = _post(login(personas.alice), personas, practitioner=str(personas.bob.public_id))
    assert r.status_code == 200
    assert not CareSheet.objects.exists()


def test_it_rejects_bad_input_in_french(personas, login):
    client = login(personas.alice)
    tomorrow = timezone.localdate() + timedelta(days=1)
    cases = [
        ({"amount": "-1"}, "ne peut pas être négatif"),
        ({"amount": "10000"}, "ne peut pas dépasser 9 999,99"),
        ({"amount": "douze"}, "Montant invalide"),
        ({"amount": "12,345"}, "Deux chiffres après la virgule"),
        ({"date": "32/01/2025"}, "Date invalide"),
        ({"date": tomorrow.strftime("%d/%m/%Y")}, "ne peut pas être dans le futur"),
        ({"acts": ""}, "Indiquez les actes, ou choisissez un acte habituel"),
        ({"amount": ""}, "Indiquez le montant, ou choisissez un acte habituel"),
        ({"patient": "P-AAAA"}, "Choix invalide"),
    ]
    for overrides, message in cases:
        r = _post(client, personas, **overrides)
        assert r.status_code == 200, overrides
        assert message in r.content.decode(), overrides
    assert not CareSheet.objects.exists()


def test_it_rejects_a_malformed_code_in_french(personas, login):
    r = _post(login(personas.fabien), personas, patient="Moreau")
    assert "Code patient invalide" in r.content.decode()
    assert not CareSheet.objects.exists()


def test_it_writes_care_sheet_created(personas, login):
    _post(login(personas.fabien), personas, patient=personas.alice_patient.code)
    sheet = CareSheet.objects.get()
    event = Event.objects.get(action=Ev.CARE_SHEET_CREATED)
    assert event.actor == personas.fabien
    assert event.target_id == str(sheet.pk)
    assert event.patient_id == personas.alice_patient.pk
    assert event.details == {"practitioner": personas.alice.pk}

from decimal import Decimal

from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_care_sheet


def _url(sheet):
    return f"/facturation/{sheet.public_id}/modifier/"


def _data(sheet, patient, **overrides):
    data = {
        "patient": patient,
        "practitioner": str(sheet.practitioner.public_id),
        "date": sheet.date.strftime("%d/%m/%Y"),
        "acts": sheet.acts,
        "amount": str(sheet.amount),
    }
    data.update(overrides)
    return data


def test_it_redirects_anonymous_to_login(personas, client):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    r = client.get(_url(sheet))
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_hides_another_practitioners_care_sheet(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    client = login(personas.bob)
    assert client.get(_url(sheet)).status_code == 404
    assert client.post(_url(sheet), _data(sheet, str(personas.bob_patient.public_id))).status_code == 404


def test_it_forbids_roles_without_billing(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    for user in (personas.sophie, personas.regine, personas.adam):
        assert login(user).get(_url(sheet)).status_code == 403


def test_it_lets_the_titulaire_change_a_care_sheet(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice, acts="G", amount=Decimal("25.00"))
    r = login(personas.alice).post(
        _url(sheet), _data(sheet, str(personas.alice_patient.public_id), acts="G + MD", amount="35,00")
    )
    assert r.status_code == 302
    sheet.refresh_from_db()
    assert (sheet.acts, sheet.amount) == ("G + MD", Decimal("35.00"))
    event = Event.objects.get(action=Ev.CARE_SHEET_UPDATED)
    assert event.actor == personas.alice
    assert event.target_id == str(sheet.pk)
    assert sorted(event.details["fields"]) == ["acts", "amount"]


def test_it_shows_the_billing_clerk_the_code_only(personas, login):
    patient = personas.alice_patient
    sheet = make_care_sheet(patient, personas.alice)
    body = login(personas.fabien).get(_url(sheet)).content.decode()
    assert patient.code in body
    for text in ("Moreau", "MOREAU", "Jeanne"):
        assert text not in body


def test_it_lets_the_billing_clerk_change_the_amount(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    r = login(personas.fabien).post(_url(sheet), _data(sheet, personas.alice_patient.code, amount="26,50"))
    assert r.status_code == 302
    sheet.refresh_from_db()
    assert sheet.amount == Decimal("26.50")


def test_it_changes_nothing_on_bad_input(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice, amount=Decimal("30.00"))
    r = login(personas.alice).post(_url(sheet), _data(sheet, str(personas.alice_patient.public_id), amount="-5"))
    assert r.status_code == 200
    assert "ne peut pas être négatif" in r.content.decode()
    sheet.refresh_from_db()
    assert sheet.amount == Decimal("30.00")
    assert not Event.objects.filter(action=Ev.CARE_SHEET_UPDATED).exists()


def test_it_keeps_the_date_it_was_given(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice, date=timezone.localdate())
    r = login(personas.alice).post(_url(sheet), _data(sheet, str(personas.alice_patient.public_id)))
    assert r.status_code == 302
    assert not Event.objects.filter(action=Ev.CARE_SHEET_UPDATED).exists()

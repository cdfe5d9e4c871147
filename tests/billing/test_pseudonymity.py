"""ACL-1: the billing clerk works on administrative data only, under the patient's code."""

from datetime import datetime, time

from django.utils import timezone

from hygie.audit.models import Event
from tests.factories import make_appointment, make_care_sheet


def _assert_no_name(response, patient):
    body = response.content.decode().casefold()
    for text in (patient.birth_name, patient.first_names):
        assert text.casefold() not in body


def test_it_never_shows_a_name_on_any_billing_page_of_the_clerk(personas, login):
    patient = personas.alice_patient
    sheet = make_care_sheet(patient, personas.alice)
    client = login(personas.fabien)
    pages = [
        client.get("/facturation/"),
        client.get("/facturation/", {"impayees": "on"}),
        client.get("/facturation/nouvelle/"),
        client.get(f"/facturation/{sheet.public_id}/modifier/"),
        client.post("/facturation/nouvelle/", {"patient": patient.code, "amount": "abc"}),
        client.post(
            "/facturation/nouvelle/",
            {
                "patient": patient.code,
                "practitioner": str(personas.alice.public_id),
                "date": timezone.localdate().isoformat(),
                "acts": "G",
                "amount": "30",
            },
            follow=True,
        ),
        client.post(f"/facturation/{sheet.public_id}/reglement/", follow=True),
    ]
    for response in pages:
        assert response.status_code == 200
        _assert_no_name(response, patient)
    assert patient.code in pages[0].content.decode()
    assert patient.code in pages[3].content.decode()


def test_it_keeps_names_out_of_the_journal(personas, login):
    patient = personas.alice_patient
    sheet = make_care_sheet(patient, personas.alice)
    appt = make_appointment(patient, personas.alice, reason="Entorse")
    login(personas.fabien).post(f"/facturation/{sheet.public_id}/reglement/")
    client = login(personas.sophie)
    client.get("/agenda/")
    client.post(f"/agenda/{appt.public_id}/annuler/")
    for event in Event.objects.all():
        text = f"{event.details} {event.reason}".casefold()
        assert "moreau" not in text and "jeanne" not in text and "entorse" not in text


def test_it_shows_the_secretary_the_agenda_with_names_but_not_billing(personas, login):
    noon = timezone.make_aware(datetime.combine(timezone.localdate(), time(12, 0)))
    make_appointment(personas.alice_patient, personas.alice, start=noon)
    make_care_sheet(personas.alice_patient, personas.alice)
    client = login(personas.sophie)
    assert "MOREAU Jeanne" in client.get("/agenda/", {"jour": timezone.localdate().isoformat()}).content.decode()
    assert client.get("/facturation/").status_code == 403

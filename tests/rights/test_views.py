"""The rights pages: recording from the record, out-of-scope patients, downloads journaled with
their request, the erasure decision behind re-authentication, the dashboard panel."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.rights.models import RightsRequest
from tests.rights.helpers import fill_record, record


def _form(**extra):
    data = {
        "right": "acces",
        "received_at": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "channel": "courrier",
        "requester": "patient",
        "identity_document": "passeport",
        "identity_seen": "Photo et nom concordants",
    }
    data.update(extra)
    return data


def test_the_secretary_records_a_request_from_the_record(personas, login):
    client = login(personas.sophie)
    key = {"public_id": personas.alice_patient.public_id}
    page = client.get(reverse("patient_detail", kwargs=key))
    url = reverse("rights_request_create", kwargs=key)
    assert url in page.content.decode()
    response = client.post(url, _form())
    req = RightsRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("rights_request", kwargs={"public_id": req.public_id})
    detail = client.get(response["Location"]).content.decode()
    assert "Photo et nom concordants" in detail and "Remettre la copie" not in detail


def test_a_request_for_another_titulaire_s_patient_is_404_and_records_nothing(personas, login):
    client = login(personas.alice)
    url = reverse("rights_request_create", kwargs={"public_id": personas.bob_patient.public_id})
    assert client.post(url, _form()).status_code == 404
    assert not RightsRequest.objects.exists()


def test_a_refused_request_shows_its_french_message_and_records_nothing(personas, login):
    client = login(personas.alice)
    url = reverse("rights_request_create", kwargs={"public_id": personas.alice_patient.public_id})
    response = client.post(url, _form(requester="ayant_droit", requester_name="Paul", quality_seen="Acte"))
    assert response.status_code == 200
    assert "patient décédé" in response.content.decode()
    assert not RightsRequest.objects.exists()


def test_the_download_is_journaled_with_its_request(personas, login):
    fill_record(personas.alice_patient, personas.alice)
    req = record(personas.alice, personas.alice_patient, "acces")
    client = login(personas.alice)
    response = client.get(reverse("rights_export_pdf", kwargs={"public_id": req.public_id}))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="dossier-{personas.alice_patient.code}.pdf"'
    event = Event.objects.get(action=Ev.RIGHTS_EXPORTED)
    assert event.details["request"] == str(req.public_id)
    assert not Event.objects.filter(action=Ev.EXPORT_UNJOURNALED).exists()


def test_the_export_waits_for_the_reflection_period(personas, login):
    req = record(personas.alice, personas.alice_patient, "acces", hours_ago=1)
    client = login(personas.alice)
    response = client.get(reverse("rights_export_pdf", kwargs={"public_id": req.public_id}), follow=True)
    assert "48 heures" in response.content.decode()
    assert not Event.objects.filter(action=Ev.RIGHTS_EXPORTED).exists()


def test_accepting_an_erasure_asks_for_the_password_again(personas, login):
    req = record(personas.alice, personas.alice_patient, "effacement")
    client = login(personas.alice)
    page = client.get(reverse("rights_erasure", kwargs={"public_id": req.public_id})).content.decode()
    assert "conservé jusqu&#x27;au" in page or "conservé jusqu'au" in page
    response = client.post(reverse("rights_erasure_accept", kwargs={"public_id": req.public_id}))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_reauthenticate"))


def test_the_dashboard_warns_of_late_requests_and_shows_the_referent_codes_only(personas, login):
    record(personas.alice, personas.alice_patient, "rectification", hours_ago=24 * 40)
    page = login(personas.alice).get(reverse("dashboard")).content.decode()
    assert "en retard" in page and personas.alice_patient.code in page
    page = login(personas.regine).get(reverse("dashboard")).content.decode()
    assert "en retard" in page and personas.alice_patient.code in page
    assert "Moreau" not in page and reverse("rights") not in page

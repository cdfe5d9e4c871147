"""A page of an existing patient outside the user's scope answers 404 like an unknown one, and is
journaled (the request's transaction rolls back: hygie.web.middleware writes the event after it),
so that repeated probes raise an alert (hygie.audit.alerts)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hygie.audit import alerts
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Alert, AlertKind, Event
from tests.factories import make_appointment, make_care_sheet, make_consultation, make_patient


def _probes():
    return Event.objects.filter(action=Ev.OUT_OF_SCOPE).order_by("id")


def test_an_out_of_scope_patient_page_is_a_journaled_404(personas, login):
    patient = personas.alice_patient
    r = login(personas.bob).get(reverse("patient_detail", kwargs={"public_id": patient.public_id}))
    assert r.status_code == 404
    (event,) = _probes()
    assert event.actor == personas.bob and event.outcome == Outcome.DENIED
    assert event.patient_id == patient.pk
    assert (event.target_type, event.target_id) == ("patients.patient", str(patient.pk))
    assert event.details == {"method": "GET"}
    # Nothing else of the rolled-back request stayed.
    assert not Event.objects.filter(action=Ev.PATIENT_VIEWED).exists()


@pytest.mark.parametrize("name", ["consultation_detail", "appointment_edit", "care_sheet_edit"])
def test_objects_of_an_out_of_scope_patient_are_journaled_too(personas, login, name):
    patient = personas.alice_patient
    obj = {
        "consultation_detail": lambda: make_consultation(patient, personas.alice),
        "appointment_edit": lambda: make_appointment(patient, personas.alice),
        "care_sheet_edit": lambda: make_care_sheet(patient, personas.alice),
    }[name]()
    assert login(personas.bob).get(reverse(name, kwargs={"public_id": obj.public_id})).status_code == 404
    (event,) = _probes()
    assert event.patient_id == patient.pk and event.target_id == str(obj.pk)


def test_an_unknown_id_is_not_a_probe(personas, login):
    r = login(personas.bob).get("/patients/00000000-0000-0000-0000-000000000000/")
    assert r.status_code == 404
    assert not _probes().exists()


def test_a_403_within_scope_is_not_a_probe(personas, login):
    r = login(personas.sophie).get(reverse("history_edit", kwargs={"public_id": personas.alice_patient.public_id}))
    assert r.status_code == 403
    assert not _probes().exists()


def test_repeated_probes_raise_an_alert(personas, login, settings):
    settings.ALERT_OUT_OF_SCOPE_PER_HOUR = 3
    client = login(personas.bob)
    others = [personas.alice_patient, make_patient(personas.alice, birth_name="Roux"),
              make_patient(personas.alice, birth_name="Blanc")]
    client.get(reverse("patient_detail", kwargs={"public_id": others[0].public_id}))
    assert not [a for a in alerts.scan() if a.kind == AlertKind.OUT_OF_SCOPE]  # a stale link is no probe
    for patient in others[1:]:
        client.get(reverse("patient_detail", kwargs={"public_id": patient.public_id}))
    (alert,) = [a for a in alerts.scan() if a.kind == AlertKind.OUT_OF_SCOPE]
    assert alert.user == personas.bob and len(alert.event_ids) == 3
    assert alert.details["patients"] == 3 and alert.details["threshold"] == 3
    assert "Roux" not in str(alert.details)
    page = login(personas.regine).get(reverse("alert_list")).content.decode()
    assert "Demandes répétées de dossiers hors périmètre" in page
    assert Alert.objects.filter(kind=AlertKind.OUT_OF_SCOPE).count() == 1

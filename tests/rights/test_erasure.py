"""An erasure request weighed against the legal retention (hygie.retention): refused with the
ground and the date while the record must be kept or a hold protects it; accepted through the
purge, with the request as its reason, once the retention is over."""

from __future__ import annotations

from datetime import date

import pytest

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.patients.models import Patient
from hygie.retention import actions as retention_actions
from hygie.rights import actions, pack
from hygie.rights.models import RefusalGround, RightsRequest, Status
from tests.factories import make_patient
from tests.rights.helpers import record


@pytest.fixture
def old(personas, own_key_file):
    """Last consultation 2001 (declared by older software): the 20 years are over."""
    patient = make_patient(personas.alice, birth_name="Ancien", first_names="Paul", birth_date=date(1950, 3, 12))
    patient.declared_last_visit = date(2001, 6, 15)
    patient.save()
    return patient


def test_an_erasure_under_retention_is_refused_with_the_ground_and_the_date(personas, own_key_file):
    patient = personas.alice_patient
    req = record(personas.alice, patient, "effacement")
    expires = retention_actions.decide(patient).expires
    with pytest.raises(actions.ActionError, match="conservé jusqu'au"):
        actions.accept_erasure(actor=personas.alice, request=req)
    req.refresh_from_db()
    assert req.status == Status.OPEN
    assert Patient.objects.filter(pk=patient.pk).exists()
    assert not Event.objects.filter(action=Ev.RIGHTS_ERASURE_ACCEPTED).exists()

    actions.refuse_erasure(actor=personas.alice, request=req, note="Dossier conservé 20 ans")
    req.refresh_from_db()
    assert (req.status, req.refusal_ground, req.kept_until) == (Status.REFUSED, RefusalGround.RETENTION, expires)
    event = Event.objects.get(action=Ev.RIGHTS_REQUEST_REFUSED)
    assert event.details["kept_until"] == expires.isoformat() and event.details["rule"] == "RET-1"


def test_a_hold_forbids_the_erasure_of_a_record_whose_time_is_over(personas, old):
    retention_actions.set_hold(actor=personas.alice, patient=old, started_on=date(2020, 1, 1),
                               reason="Réclamation amiable en cours")
    req = record(personas.alice, old, "effacement")
    with pytest.raises(actions.ActionError, match="suspension"):
        actions.accept_erasure(actor=personas.alice, request=req)
    assert Patient.objects.filter(pk=old.pk).exists()
    actions.refuse_erasure(actor=personas.alice, request=req)
    req.refresh_from_db()
    assert req.status == Status.REFUSED and req.kept_until is None


def test_an_accepted_erasure_goes_through_the_purge_and_the_request_stays(personas, old):
    req = record(personas.alice, old, "effacement", requester_name="")
    with pytest.raises(actions.ActionError, match="écoulée"):
        actions.refuse_erasure(actor=personas.alice, request=req)
    code, pk = old.code, old.pk
    done = actions.accept_erasure(actor=personas.alice, request=req)
    assert done["patient"] == code
    assert not Patient.objects.filter(pk=pk).exists()
    kept = RightsRequest.objects.get(pk=req.pk)
    assert kept.patient_id is None and kept.patient_code == code and kept.status == Status.ANSWERED
    erased = Event.objects.get(action=Ev.PATIENT_ERASED)
    assert erased.details["request"] == str(req.public_id) and erased.details["rule"] == "RET-1"
    assert Event.objects.filter(action=Ev.RIGHTS_ERASURE_ACCEPTED, details__request=str(req.public_id)).exists()
    assert Event.objects.filter(action=Ev.RETENTION_PURGE_APPROVED).exists()
    [row] = pack.entries()
    assert row["record_erased"] is True and row["status"] == "repondue" and row["patient_code"] == code


def test_another_titulaire_cannot_decide(personas, old):
    req = record(personas.alice, old, "effacement")
    with pytest.raises(actions.ActionError, match="titulaire du patient"):
        actions.accept_erasure(actor=personas.bob, request=req)
    assert Patient.objects.filter(pk=old.pk).exists()

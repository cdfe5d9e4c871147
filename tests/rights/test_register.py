"""The register: who may ask (CSP rules), deadlines, extension, answers, restriction, the pack."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.rights import actions, pack, restrictions
from hygie.rights.models import Processing, RightsRequest, Status
from tests.rights.helpers import fill_record, material, record


def _events(tag):
    return list(Event.objects.filter(action=tag))


def test_a_request_gets_its_legal_deadline_and_is_journaled_without_names(personas):
    req = record(personas.sophie, personas.alice_patient, "acces", hours_ago=1)
    assert req.practitioner == personas.alice
    assert req.rule == "CSP-L1111-7"
    assert req.due_on == timezone.localdate(req.received_at) + timedelta(days=8)
    assert req.earliest_at == req.received_at + timedelta(hours=48)
    [event] = _events(Ev.RIGHTS_REQUEST_RECORDED)
    assert event.patient_id == personas.alice_patient.pk
    text = str(event.details)
    assert "Moreau" not in text and "concordants" not in text
    assert event.details["right"] == "acces" and event.details["due_on"] == req.due_on.isoformat()


def test_old_information_gives_two_months(personas):
    patient = personas.alice_patient
    patient.declared_last_visit = date(2015, 1, 10)
    patient.save()
    req = record(personas.alice, patient, "acces", hours_ago=1)
    assert req.old_information and req.rule == "CSP-L1111-7-5ANS"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"requester": "ayant_droit", "requester_name": "Paul Moreau", "quality_seen": "Acte de notoriété",
          "heir_ground": "cause_deces"}, "patient décédé"),
        ({"requester": "parent", "requester_name": "Anne Moreau", "quality_seen": "Livret de famille"},
         "patient mineur"),
        ({"requester": "tuteur", "requester_name": "Anne Moreau", "quality_seen": ""}, "justificatif"),
        ({"received_at": timezone.now() + timedelta(days=1)}, "futur"),
    ],
)
def test_it_refuses_a_request_the_rules_do_not_allow_and_changes_nothing(personas, extra, message):
    with pytest.raises(actions.ActionError, match=message):
        record(personas.alice, personas.alice_patient, "acces", **extra)
    assert RightsRequest.objects.count() == 0
    assert _events(Ev.RIGHTS_REQUEST_RECORDED) == []


def test_an_heir_asks_only_for_the_record_of_a_deceased_patient_with_a_ground(personas):
    patient = personas.alice_patient
    patient.death_date = timezone.localdate() - timedelta(days=30)
    patient.save()
    heir = {"requester": "ayant_droit", "requester_name": "Paul Moreau", "quality_seen": "Acte de notoriété"}
    with pytest.raises(actions.ActionError, match="motif de l'ayant droit"):
        record(personas.alice, patient, "acces", **heir)
    with pytest.raises(actions.ActionError, match="communication des informations"):
        record(personas.alice, patient, "portabilite", heir_ground="droits", **heir)
    with pytest.raises(actions.ActionError, match="opposé de son vivant"):
        record(personas.alice, patient, "acces", heir_ground="droits", deceased_objected=True, **heir)
    with pytest.raises(actions.ActionError, match="ayant droit"):
        record(personas.alice, patient, "acces")
    req = record(personas.alice, patient, "acces", heir_ground="cause_deces", **heir)
    assert req.requester == "ayant_droit" and req.heir_ground == "cause_deces"


def test_a_parent_asks_for_a_minor_unless_the_minor_objected(personas):
    patient = personas.alice_patient
    patient.birth_date = timezone.localdate() - timedelta(days=365 * 12)
    patient.save()
    parent = {"requester": "parent", "requester_name": "Anne Moreau", "quality_seen": "Livret de famille"}
    with pytest.raises(actions.ActionError, match="L1111-5"):
        record(personas.alice, patient, "acces", minor_objected=True, **parent)
    assert record(personas.alice, patient, "acces", **parent).requester == "parent"


def test_the_extension_is_refused_after_the_first_month_and_changes_nothing(personas):
    req = record(personas.alice, personas.alice_patient, "effacement", hours_ago=24 * 40)
    due = req.due_on
    with pytest.raises(actions.ActionError, match="dans le mois"):
        actions.extend(actor=personas.alice, request=req, notice_on=timezone.localdate(), reason="complexite")
    req.refresh_from_db()
    assert req.extended_on is None and req.due_on == due
    assert _events(Ev.RIGHTS_REQUEST_EXTENDED) == []


def test_the_extension_within_the_month_adds_two_months(personas):
    req = record(personas.alice, personas.alice_patient, "rectification", hours_ago=24 * 3)
    actions.extend(actor=personas.alice, request=req, notice_on=timezone.localdate(), reason="nombre")
    req.refresh_from_db()
    assert req.rule == "RGPD-12.3-PROLONGE"
    assert req.due_on > timezone.localdate(req.received_at) + timedelta(days=85)
    with pytest.raises(actions.ActionError, match="déjà été prolongé"):
        actions.extend(actor=personas.alice, request=req, notice_on=timezone.localdate(), reason="nombre")


def test_the_secretary_records_but_never_answers(personas):
    req = record(personas.sophie, personas.alice_patient, "acces")
    with pytest.raises(actions.ActionError, match="titulaire"):
        actions.export(actor=personas.sophie, request=req, fmt="pdf", material={"documents": []})
    with pytest.raises(actions.ActionError, match="titulaire"):
        actions.answer(actor=personas.sophie, request=req)


def test_the_record_is_not_communicated_before_48_hours(personas):
    fill_record(personas.alice_patient, personas.alice)
    req = record(personas.alice, personas.alice_patient, "acces", hours_ago=2)
    with pytest.raises(actions.ActionError, match="48 heures"):
        actions.export(actor=personas.alice, request=req, fmt="pdf",
                       material=material(personas.alice, personas.alice_patient))
    assert _events(Ev.RIGHTS_EXPORTED) == []


def test_an_answer_needs_its_proof(personas):
    patient = personas.alice_patient
    fill_record(patient, personas.alice)
    access = record(personas.alice, patient, "acces")
    with pytest.raises(actions.ActionError, match="Aucun export"):
        actions.answer(actor=personas.alice, request=access)
    actions.export(actor=personas.alice, request=access, fmt="pdf", material=material(personas.alice, patient))
    actions.answer(actor=personas.alice, request=access, note="Copie remise en main propre")
    access.refresh_from_db()
    assert access.status == Status.ANSWERED and access.answered_on == timezone.localdate()
    [event] = _events(Ev.RIGHTS_REQUEST_ANSWERED)
    assert event.details["exports"] == 1 and event.details["on_time"] is True

    rect = record(personas.alice, patient, "rectification", hours_ago=0)
    with pytest.raises(actions.ActionError, match="Aucune rectification"):
        actions.answer(actor=personas.alice, request=rect)
    from hygie.patients import actions as patient_actions

    patient_actions.update_identity(actor=personas.alice, patient=patient, data={"phone": "0600000000"})
    actions.answer(actor=personas.alice, request=rect)
    event = Event.objects.filter(action=Ev.RIGHTS_REQUEST_ANSWERED).order_by("-id").first()
    assert len(event.details["changes"]) == 1


def test_restriction_and_objection_block_the_processing_until_lifted(personas):
    patient = personas.alice_patient
    req = record(personas.alice, patient, "opposition")
    assert not restrictions.blocks(patient, Processing.REMINDERS)
    flag = actions.set_restriction(actor=personas.alice, request=req, processing=Processing.REMINDERS)
    assert restrictions.blocks(patient, Processing.REMINDERS)
    assert not restrictions.blocks(patient, Processing.EXCHANGE)
    with pytest.raises(actions.ActionError, match="déjà bloqué"):
        actions.set_restriction(actor=personas.alice, request=req, processing=Processing.REMINDERS)
    actions.answer(actor=personas.alice, request=req)
    actions.lift_restriction(actor=personas.alice, restriction=flag)
    assert not restrictions.blocks(patient, Processing.REMINDERS)
    assert [e.details["processing"] for e in _events(Ev.RIGHTS_RESTRICTION_SET)] == ["rappels"]
    assert len(_events(Ev.RIGHTS_RESTRICTION_LIFTED)) == 1
    everything = record(personas.alice, patient, "limitation")
    actions.set_restriction(actor=personas.alice, request=everything, processing=Processing.ALL)
    assert restrictions.blocks(patient, Processing.EXCHANGE)


def test_the_pack_lists_the_answers_with_codes_only(personas):
    patient = personas.alice_patient
    late = record(personas.alice, patient, "rectification", hours_ago=24 * 40)
    req = record(personas.alice, patient, "opposition")
    actions.refuse(actor=personas.alice, request=req, ground="motifs_legitimes", note="Suivi médical nécessaire")
    rows = pack.entries(timezone.localdate() - timedelta(days=60))
    assert [r["request"] for r in rows] == [str(late.public_id), str(req.public_id)]
    assert rows[0]["on_time"] is False and rows[0]["status"] == "en_cours"
    assert rows[1]["status"] == "refusee" and rows[1]["refusal_ground"] == "motifs_legitimes"
    assert all(r["patient_code"] == patient.code for r in rows)
    assert "Moreau" not in str(rows) and "Suivi" not in str(rows)
    assert pack.entries(timezone.localdate()) == []


def test_the_record_page_shows_the_processings_blocked_now(personas, login):
    """The rights panel reads the restrictions in force with the patient row: what it shows
    follows a set and a lift at once."""
    patient = personas.alice_patient
    client = login(personas.alice)
    url = f"/patients/{patient.public_id}/"
    assert "Traitements bloqués" not in client.get(url).content.decode()
    req = record(personas.alice, patient, "opposition")
    flag = actions.set_restriction(actor=personas.alice, request=req, processing=Processing.REMINDERS)
    body = client.get(url).content.decode()
    assert "Traitements bloqués" in body and str(Processing.REMINDERS.label) in body
    assert str(Processing.EXCHANGE.label) not in body
    actions.answer(actor=personas.alice, request=req)
    actions.lift_restriction(actor=personas.alice, restriction=flag)
    assert "Traitements bloqués" not in client.get(url).content.decode()

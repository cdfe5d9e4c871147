"""The breach register: opening (CLI contract), impossible times, the 72-hour clock journaled at
+23 h, +47 h, +73 h (frozen time), pre-filled counts against a constructed journal, the CNIL
draft, art. 34 letters naming only their own patient, closing rules, evidence, exercises, and
what other apps take (poster hook, compliance pack)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.audit.models import Alert, AlertKind, Event
from hygie.checklist import poster
from hygie.incidents import actions, cnil, evidence, pack
from hygie.incidents.models import Incident, PatientNotice
from hygie.practices.models import Practice
from tests.audit.helpers import record_at
from tests.factories import make_patient

H = timedelta(hours=1)


def _open(actor, **kw) -> Incident:
    now = timezone.now()
    return actions.open_incident(actor=actor, title="Portable volé", discovered_at=kw.pop("discovered_at", now - H),
                                 aware_at=kw.pop("aware_at", now - H), **kw)


def test_the_cli_opens_a_breach_and_gives_its_deadline(personas):
    Practice.objects.create(name="Cabinet des Lilas")
    out = io.StringIO()
    call_command("incident", "breach", "open", "--aware-at", "2025-11-14T09:30:00+01:00", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert datetime.fromisoformat(data["notify_by"]) == datetime(2025, 11, 17, 8, 30, tzinfo=UTC)
    assert Incident.objects.get(public_id=data["breach"]).exercise is False


@pytest.mark.parametrize(
    ("aware", "discovered", "message"),
    [("2999-01-01T10:00:00+00:00", None, "futur"),
     ("2025-11-14T09:00:00+00:00", "2025-11-14T10:00:00+00:00", "précéder la découverte")],
)
def test_impossible_times_are_refused_in_french_and_nothing_is_saved(personas, aware, discovered, message):
    Practice.objects.create(name="Cabinet des Lilas")
    args = ["breach", "open", "--aware-at", aware] + (["--discovered-at", discovered] if discovered else [])
    with pytest.raises(CommandError, match=message):
        call_command("incident", *args, stdout=io.StringIO())
    assert not Incident.objects.exists()
    with pytest.raises(CommandError, match="illisible"):
        call_command("incident", "breach", "open", "--aware-at", "hier", stdout=io.StringIO())


def test_the_clock_is_journaled_at_24_and_48_hours_and_alerts_past_72(personas):
    start = timezone.now().replace(microsecond=0)
    incident = _open(personas.regine, aware_at=start, discovered_at=start)
    for after, stage in ((23 * H, None), (47 * H, "warn24"), (73 * H, "overdue")):
        actions.check_deadlines(now=start + after)  # the clock as it reads then
        stages = list(Event.objects.filter(action=Ev.BREACH_DEADLINE).values_list("details__stage", flat=True))
        assert (stages[-1] if stages else None) == stage
    assert Alert.objects.filter(kind=AlertKind.INCIDENT, severity="critical").count() == 1
    assert actions.check_deadlines(now=start + 80 * H) == 0  # journaled once per stage
    incident.refresh_from_db()
    assert incident.deadline_stage == "overdue"


def test_the_dashboard_shows_the_clock_to_admin_referent_and_titulaires(personas, login):
    start = timezone.now()
    _open(personas.regine, aware_at=start - 46 * H - H / 2, discovered_at=start - 47 * H)
    for who in (personas.alice, personas.regine, personas.adam):
        page = login(who).get(reverse("dashboard")).content.decode()
        assert "breach-clocks" in page and "25 h restantes" in page
    assert "breach-clocks" not in login(personas.sophie).get(reverse("dashboard")).content.decode()


def test_prefilled_counts_match_the_journal_on_a_constructed_case(personas):
    other = make_patient(personas.alice, birth_name="Petit", first_names="Paul")
    t0 = timezone.now() - 3 * H
    alice, bob = personas.alice, personas.bob
    record_at(t0 + H, Ev.PATIENT_VIEWED, actor=alice, target=personas.alice_patient)
    record_at(t0 + H, Ev.PATIENT_VIEWED, actor=alice, target=other)
    record_at(t0 + H, Ev.DOCUMENT_DOWNLOADED, actor=alice, target=other)
    record_at(t0 + H, Ev.PATIENT_VIEWED, actor=bob, target=personas.bob_patient)  # not the account
    record_at(t0 + H, Ev.OUT_OF_SCOPE, actor=alice, target=personas.bob_patient)  # refused: nothing seen
    record_at(t0 - H, Ev.PATIENT_VIEWED, actor=alice, target=personas.bob_patient)  # before the period
    incident = _open(personas.regine)
    found = actions.scope_from_journal(actor=personas.regine, incident=incident, account=personas.alice,
                                       start=t0, end=t0 + 2 * H)
    assert (found["events"], found["patients"], found["exports"]) == (3, 2, 1)
    incident.refresh_from_db()
    assert sorted(incident.affected_patients) == sorted([personas.alice_patient.pk, other.pk])
    assert (incident.persons_count, incident.records_count) == (2, 3)


def test_closing_without_a_decision_on_notification_is_refused(personas):
    incident = _open(personas.regine, confidentiality=True)
    with pytest.raises(actions.ActionError, match="aucune décision sur la notification"):
        actions.close_incident(actor=personas.regine, incident=incident)
    with pytest.raises(actions.ActionError, match="pourquoi"):
        actions.decide_notification(actor=personas.regine, incident=incident, notify=False, reason="")
    actions.decide_notification(actor=personas.regine, incident=incident, notify=True)
    with pytest.raises(actions.ActionError, match="pas enregistrée"):
        actions.close_incident(actor=personas.regine, incident=incident)
    actions.record_notification(actor=personas.regine, incident=incident, at=timezone.now())
    with pytest.raises(actions.ActionError, match="art. 34"):
        actions.close_incident(actor=personas.regine, incident=incident)
    incident.refresh_from_db()
    assert incident.closed_at is None
    actions.decide_art34(actor=personas.regine, incident=incident, decision="notify")
    actions.close_incident(actor=personas.regine, incident=incident)
    assert Event.objects.filter(action=Ev.BREACH_CLOSED).exists()


def test_a_late_notification_needs_the_reasons_for_the_delay(personas):
    then = timezone.now() - 80 * H
    incident = _open(personas.regine, aware_at=then, discovered_at=then)
    with pytest.raises(actions.ActionError, match="motifs du retard"):
        actions.record_notification(actor=personas.regine, incident=incident, at=timezone.now())
    actions.record_notification(actor=personas.regine, incident=incident, at=timezone.now(),
                                delay_reasons="Expertise de l'intrusion nécessaire avant de connaître l'étendue.")
    fields = {f.label: f.value for f in cnil.draft(incident)}
    assert fields["Motifs du retard (au-delà de 72 heures)"].startswith("Expertise")


def test_the_cnil_draft_has_the_form_s_fields(personas):
    Practice.objects.create(name="Cabinet des Lilas")
    incident = _open(personas.regine, confidentiality=True, availability=True, persons_count=12,
                     measures_taken="Mots de passe changés.")
    text = cnil.as_text(cnil.draft(incident))
    for expected in ("Type de notification : Initiale", "Responsable du traitement : Cabinet des Lilas",
                     "Nature de la violation : Perte de confidentialité, Perte de disponibilité",
                     "Nombre approximatif de personnes : 12", "Mesures prises pour remédier à la violation : Mots "
                     "de passe changés.", "Date de découverte", "Origine de l'incident", "Cause de l'incident"):
        assert expected in text


def test_art34_proposes_the_waiver_for_encrypted_data_with_keys_safe(personas):
    incident = _open(personas.regine, confidentiality=True, encrypted_only=True)
    assert actions.art34_proposal(incident) == "waiver_encrypted"
    actions.update_incident(actor=personas.regine, incident=incident, keys_exposed=True)
    assert actions.art34_proposal(incident) == "notify"
    with pytest.raises(actions.ActionError, match="34\\(3\\)\\(a\\)"):
        actions.decide_art34(actor=personas.regine, incident=incident, decision="waiver_encrypted")


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "lettre.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_each_patient_letter_names_only_its_own_patient(personas, login, tmp_path):
    other = make_patient(personas.alice, birth_name="Petit", first_names="Paul")
    incident = _open(personas.alice, confidentiality=True, consequences="Risque d'hameçonnage ciblé.")
    Incident.objects.filter(pk=incident.pk).update(
        affected_patients=[personas.alice_patient.pk, other.pk, personas.bob_patient.pk], art34="notify")
    client = login(personas.alice)
    page = client.get(reverse("incident_detail", kwargs={"public_id": incident.public_id})).content.decode()
    assert "MOREAU" in page and "PETIT" in page and "BERNARD" not in page  # bob's patient: not alice's to write
    texts = {}
    for patient in (personas.alice_patient, other):
        url = reverse("incident_notice", kwargs={"public_id": incident.public_id, "patient_id": patient.public_id})
        response = client.get(url)
        assert response.status_code == 200
        texts[patient.birth_name] = _pdf_text(response.content, tmp_path)
    assert "MOREAU" in texts["Moreau"].upper() and "PETIT" not in texts["Moreau"].upper()
    assert "PETIT" in texts["Petit"].upper() and "MOREAU" not in texts["Petit"].upper()
    assert "BERNARD" not in (texts["Moreau"] + texts["Petit"]).upper()
    assert PatientNotice.objects.count() == 2
    assert Event.objects.filter(action=Ev.BREACH_PATIENT_NOTICE, patient_id=other.pk).exists()
    # bob's patient is outside alice's reach: 404, nothing generated.
    url = reverse("incident_notice", kwargs={"public_id": incident.public_id,
                                             "patient_id": personas.bob_patient.public_id})
    assert client.get(url).status_code == 404


def test_a_letter_whose_texts_name_another_patient_is_refused(personas, login):
    other = make_patient(personas.alice, birth_name="Petit", first_names="Paul")
    incident = _open(personas.alice, confidentiality=True, consequences="Le dossier de M. Petit a été lu.")
    Incident.objects.filter(pk=incident.pk).update(affected_patients=[personas.alice_patient.pk, other.pk],
                                                   art34="notify")
    url = reverse("incident_notice", kwargs={"public_id": incident.public_id,
                                             "patient_id": personas.alice_patient.public_id})
    response = login(personas.alice).get(url)
    assert response.status_code == 302 and not PatientNotice.objects.exists()


def test_the_evidence_verifies_and_each_file_has_its_sha256(personas, login):
    incident = _open(personas.regine)
    journal.record(Ev.PATIENT_VIEWED, actor=personas.alice, target=personas.alice_patient)
    response = login(personas.regine).get(reverse("incident_evidence", kwargs={"public_id": incident.public_id}))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    files = {name: archive.read(name) for name in archive.namelist()}
    assert set(files) >= {"journal.jsonl", "checkpoints.jsonl", "public-key.txt", "SHA256SUMS", "incident.json"}
    assert evidence.verify(files)
    # One altered byte in the slice and it no longer verifies.
    # One event rewritten in the slice, its sum recomputed: the chain no longer joins the checkpoint.
    lines = files["journal.jsonl"].decode().splitlines()
    doc = json.loads(lines[-2])
    doc["payload"] = doc["payload"].replace('"success"', '"failure"')
    lines[-2] = json.dumps(doc, ensure_ascii=False)
    files["journal.jsonl"] = ("\n".join(lines) + "\n").encode()
    files["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in files if n != "SHA256SUMS").encode()
    assert not evidence.verify(files)
    assert Event.objects.filter(action=Ev.BREACH_EVIDENCE_EXPORTED).exists()


def test_an_exercise_is_marked_and_times_each_step(personas, login):
    client = login(personas.regine)
    response = client.post(reverse("incident_exercise"), {"scenario": "rancongiciel"})
    incident = Incident.objects.get()
    assert incident.exercise and incident.title.startswith("EXERCICE")
    assert response["Location"] == reverse("incident_detail", kwargs={"public_id": incident.public_id})
    for step in ("call", "evidence", "register"):
        client.post(reverse("incident_step", kwargs={"public_id": incident.public_id}), {"step": step})
    # Isolating is not ticked by hand: the switch runs in simulation (tests/incidents/test_exercise.py).
    client.post(reverse("incident_step", kwargs={"public_id": incident.public_id}), {"step": "isolate"})
    durations = actions.end_exercise(actor=personas.regine, incident=incident)
    assert {"call", "evidence", "register", "total"} <= set(durations) and "isolate" not in durations
    assert Event.objects.filter(action=Ev.EXERCISE_STEP).count() == 3
    assert pack.entries() == []  # exercises are not breaches of the register


def test_the_poster_and_the_pack_take_the_practice_s_contacts_and_breaches(personas):
    actions.save_contacts(actor=personas.regine, region="Bretagne", csirt_phone="02 00 00 00 00",
                          provider_name="InfoCab", provider_phone="01 02 03 04 05")
    assert ("CSIRT régional — Bretagne", "02 00 00 00 00") in poster.incident_contacts()
    assert ("Prestataire informatique — InfoCab", "01 02 03 04 05") in poster.incident_contacts()
    _open(personas.regine)
    (entry,) = pack.entries()
    assert entry["notification"] == "À décider"
    assert pack.fiche_reflexe_pdf().startswith(b"%PDF")

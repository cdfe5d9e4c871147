"""The record page: banner, allergies/treatments/alerts, consultation structured fields, vital
charts, documents opened inline (issue 17)."""

import re
from decimal import Decimal as D

from django.db import connection
from django.test.utils import CaptureQueriesContext

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.clinical import actions
from hygie.clinical.models import ItemWritten, RecordItem
from hygie.patients.models import Consultation, ConsultationRevision
from tests.clinical.conftest import PNG, TIFF
from tests.factories import make_consultation


def _detail(patient):
    return f"/patients/{patient.public_id}/"


def _banner(body):
    return re.search(r'<header class="card patient-banner".*?</header>', body, re.S).group(0)


def test_the_banner_sums_up_the_patient(personas, login):
    patient = personas.alice_patient
    actions.add_item(actor=personas.alice, patient=patient, kind="allergie", label="Pénicilline", detail="urticaire")
    actions.add_item(actor=personas.alice, patient=patient, kind="traitement", label="Ramipril 5 mg",
                     detail="1 cp le matin")
    actions.add_item(actor=personas.alice, patient=patient, kind="alerte", label="Anticoagulée")
    banner = _banner(login(personas.alice).get(_detail(patient)).content.decode())
    for text in ("MOREAU Jeanne", " ans", "Féminin", patient.code, "Pénicilline", "Ramipril 5 mg", "1 cp le matin",
                 "Anticoagulée", "Praticien", personas.alice.display_name, "Conservé jusqu"):
        assert text in banner, text


def test_the_secretary_sees_the_banner_identity_but_nothing_medical(personas, login):
    patient = personas.alice_patient
    actions.add_item(actor=personas.alice, patient=patient, kind="allergie", label="Pénicilline")
    body = login(personas.sophie).get(_detail(patient)).content.decode()
    assert patient.code in _banner(body)
    assert "Pénicilline" not in body and "Allergies" not in body


def test_a_stopped_item_leaves_the_banner_but_stays_in_the_database(personas, login):
    patient = personas.alice_patient
    client = login(personas.alice)
    r = client.post(f"/dossier/{patient.public_id}/elements/", {"kind": "traitement", "label": "Amoxicilline",
                                                                 "detail": "1 g x 3"})
    assert r.status_code == 302
    item = RecordItem.objects.get(patient=patient)
    assert "Amoxicilline" in _banner(client.get(_detail(patient)).content.decode())
    assert client.post(f"/dossier/elements/{item.public_id}/arreter/").status_code == 302
    assert "Amoxicilline" not in _banner(client.get(_detail(patient)).content.decode())
    item.refresh_from_db()
    assert item.ended_at is not None and item.ended_by == personas.alice and item.label == "Amoxicilline"
    assert list(Event.objects.filter(patient_id=patient.pk, action__in=[Ev.RECORD_ITEM_ADDED, Ev.RECORD_ITEM_ENDED])
                .values_list("action", flat=True).order_by("pk")) == [Ev.RECORD_ITEM_ADDED, Ev.RECORD_ITEM_ENDED]


def test_an_item_is_encrypted_at_rest_and_never_rewritten(personas):
    item = actions.add_item(actor=personas.alice, patient=personas.alice_patient, kind="allergie", label="Arachide")
    with connection.cursor() as cursor:
        cursor.execute("SELECT label FROM clinical_recorditem WHERE id = %s", [item.pk])
        stored = cursor.fetchone()[0]
    assert "Arachide" not in stored
    item.label = "Noix"
    try:
        item.save()
    except ItemWritten:
        pass
    else:
        raise AssertionError("an item's text was rewritten")


def test_an_empty_label_is_refused_and_nothing_saved(personas, login):
    r = login(personas.alice).post(f"/dossier/{personas.alice_patient.public_id}/elements/",
                                   {"kind": "allergie", "label": "  "}, follow=True)
    assert "Indiquez l" in r.content.decode()
    assert not RecordItem.objects.exists()


def test_the_locum_adds_items_but_the_secretary_cannot(personas, login):
    url = f"/dossier/{personas.alice_patient.public_id}/elements/"
    assert login(personas.remi).post(url, {"kind": "allergie", "label": "Latex"}).status_code == 302
    assert login(personas.sophie).post(url, {"kind": "allergie", "label": "Latex"}).status_code == 403
    assert RecordItem.objects.count() == 1


def _consultation_post(**extra):
    data = {"date": "2025-01-10T09:30", "motif": "Contrôle tension", "observations": "", "examination": "",
            "conclusion": "", "plan": "", "weight_kg": "", "height_cm": "", "systolic": "", "diastolic": "",
            "pulse": "", "temperature": ""}
    data.update(extra)
    return data


def test_a_consultation_keeps_its_structured_fields_in_every_revision(personas, login):
    client = login(personas.alice)
    patient = personas.alice_patient
    r = client.post(f"/patients/{patient.public_id}/consultations/nouvelle/", _consultation_post(
        examination="Auscultation normale", conclusion="HTA contrôlée", plan="Revoir dans 3 mois",
        weight_kg="72,5", height_cm="170", systolic="135", diastolic="85", pulse="70", temperature="36,8"))
    assert r.status_code == 302, r.content.decode()[:2000]
    c = Consultation.objects.get(patient=patient)
    assert (c.weight_kg, c.systolic, c.temperature, c.bmi) == (D("72.5"), D("135"), D("36.8"), D("25.1"))
    assert c.examination == "Auscultation normale" and c.plan == "Revoir dans 3 mois"
    client.post(f"/patients/consultations/{c.public_id}/modifier/", _consultation_post(
        date=c.date.astimezone().strftime("%Y-%m-%dT%H:%M"), examination="Auscultation normale",
        conclusion="HTA contrôlée", plan="Revoir dans 3 mois", weight_kg="71", height_cm="170", systolic="130",
        diastolic="80", pulse="70", temperature="36,8"))
    revisions = list(ConsultationRevision.objects.filter(consultation=c).order_by("created_at", "pk"))
    assert [r.weight_kg for r in revisions] == [D("72.5"), D("71.0")]
    body = client.get(f"/patients/consultations/{c.public_id}/").content.decode()
    for text in ("Auscultation normale", "HTA contrôlée", "Revoir dans 3 mois", "24,6", "130 / 80"):
        assert text in body, text


def test_implausible_vitals_are_refused_and_nothing_saved(personas, login):
    r = login(personas.alice).post(f"/patients/{personas.alice_patient.public_id}/consultations/nouvelle/",
                                   _consultation_post(weight_kg="450", systolic="120"))
    body = r.content.decode()
    assert r.status_code == 200
    assert "Poids : saisissez une valeur entre 0,3 et 400 kg." in body
    assert "Pression artérielle : saisissez la systolique et la diastolique." in body
    assert not Consultation.objects.exists()


def test_the_record_charts_the_vitals_over_time(personas, login):
    patient = personas.alice_patient
    from datetime import timedelta

    from django.utils import timezone
    for days, weight in ((60, "80"), (30, "78"), (1, "76")):
        make_consultation(patient, personas.alice, date=timezone.now() - timedelta(days=days),
                          weight_kg=D(weight), height_cm=D("175"), systolic=D("140"), diastolic=D("90"))
    body = login(personas.alice).get(_detail(patient)).content.decode()
    section = re.search(r'<section class="card" id="constantes".*?</section>', body, re.S).group(0)
    assert section.count("<svg") == 3  # weight, BMI, blood pressure
    assert 'aria-label="Poids : 3 mesure(s), dernière 76 kg"' in section
    assert "24,8" in section  # 76 kg, 1.75 m


def _count_queries(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_record_page_queries_do_not_grow_with_the_record(personas, login, upload):
    """Banner, lists, charts and documents cost a fixed number of queries (prefetched), whatever
    the number of consultations, items and documents; the structured record adds two (items,
    drafts) to the page."""
    patient = personas.alice_patient
    client = login(personas.alice)

    def add(n):
        for _ in range(n):
            make_consultation(patient, personas.alice, weight_kg=D(70), systolic=D(120), diastolic=D(80))
            actions.add_item(actor=personas.alice, patient=patient, kind="traitement", label="Médicament")
            actions.add_item(actor=personas.alice, patient=patient, kind="allergie", label="Allergène")
            upload(patient, personas.alice)

    add(1)
    small = _count_queries(client, _detail(patient))
    add(6)
    assert _count_queries(client, _detail(patient)) == small


def test_the_structured_record_adds_two_queries(personas, login, monkeypatch):
    from hygie.patients import views as patient_views

    client = login(personas.alice)
    url = _detail(personas.alice_patient)
    with_record = _count_queries(client, url)
    monkeypatch.setattr(patient_views.clinical_record, "summary", lambda *a: {})
    # The items; the user's drafts are read with the patient row and the consultations.
    assert with_record - _count_queries(client, url) == 1


def test_the_banner_lists_my_drafts_newest_first_and_no_one_elses(personas, login):
    from datetime import timedelta

    from django.utils import timezone

    from hygie.clinical.models import ConsultationDraft

    patient = personas.alice_patient
    consultation = make_consultation(patient, personas.alice, motif="Suivi")
    old = actions.save_draft(actor=personas.alice, patient=patient, consultation=None, data={"motif": "Toux"})
    actions.save_draft(actor=personas.alice, patient=patient, consultation=consultation, data={"motif": "Suivi 2"})
    ConsultationDraft.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=1))
    # The remplaçant's drafts on the same consultations are theirs only.
    actions.save_draft(actor=personas.remi, patient=patient, consultation=None, data={"motif": "Fièvre"})
    actions.save_draft(actor=personas.remi, patient=patient, consultation=consultation, data={"motif": "Suivi 3"})
    banner = _banner(login(personas.alice).get(_detail(patient)).content.decode())
    lines = re.findall(r'<p class="draft-line">.*?</p>', banner, re.S)
    assert len(lines) == 2
    assert f"/consultations/{consultation.public_id}/modifier/" in lines[0]
    assert "Reprendre la modification" in lines[0]
    assert "Reprendre la consultation en cours" in lines[1]


def test_a_document_opens_inline_in_a_sandbox_and_is_journaled(personas, login, upload):
    document = upload(personas.alice_patient, personas.alice, PNG, title="Radio genou")
    r = login(personas.alice).get(f"/dossier/documents/{document.public_id}/voir/")
    assert r.status_code == 200
    assert r["Content-Type"] == "image/png"
    assert r["Content-Disposition"].startswith("inline")
    assert "genou" not in r["Content-Disposition"].lower() and "moreau" not in r["Content-Disposition"].lower()
    assert r["Content-Security-Policy"].startswith("sandbox;")
    assert "default-src 'none'" in r["Content-Security-Policy"]
    assert r["X-Content-Type-Options"] == "nosniff"
    assert b"".join(r.streaming_content) == PNG
    assert Event.objects.filter(action=Ev.DOCUMENT_VIEWED, actor=personas.alice).count() == 1
    assert not Event.objects.filter(action=Ev.EXPORT_UNJOURNALED).exists()


def test_a_tiff_is_only_downloaded(personas, login, upload):
    document = upload(personas.alice_patient, personas.alice, TIFF)
    client = login(personas.alice)
    assert client.get(f"/dossier/documents/{document.public_id}/voir/").status_code == 404
    body = client.get(_detail(personas.alice_patient)).content.decode()
    assert f"/dossier/documents/{document.public_id}/voir/" not in body
    assert f"/patients/documents/{document.public_id}/" in body


def test_an_inline_document_without_journal_is_flagged(personas, login, upload, monkeypatch):
    """The checklist's watch (exports journaled) covers inline documents too: without the event,
    the view is flagged."""
    document = upload(personas.alice_patient, personas.alice, PNG)
    monkeypatch.setattr(actions, "record_document_view", lambda **kw: None)
    assert login(personas.alice).get(f"/dossier/documents/{document.public_id}/voir/").status_code == 200
    assert Event.objects.filter(action=Ev.EXPORT_UNJOURNALED).exists()

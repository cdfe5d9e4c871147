"""Drafts of a consultation kept on the server across the idle lock; letters and certificates from
the practitioner's templates, as PDF filed in the record (issue 17)."""

import json
import subprocess

from django.db import connection

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.clinical.models import ConsultationDraft, LetterTemplate
from hygie.patients import documents
from hygie.patients.models import Consultation, Document
from tests.factories import make_consultation

FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


def _new(patient):
    return f"/patients/{patient.public_id}/consultations/nouvelle/"


def test_a_draft_is_saved_encrypted_and_resumed_by_its_author(personas, login):
    patient = personas.alice_patient
    client = login(personas.alice)
    r = client.post(f"/dossier/{patient.public_id}/brouillon/",
                    {"motif": "Douleur thoracique", "observations": "Début brutal", "weight_kg": "7x"}, **FETCH)
    assert r.status_code == 200 and r.json()["saved"] is True
    draft = ConsultationDraft.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT content FROM clinical_consultationdraft")
        assert "thoracique" not in cursor.fetchone()[0]
    body = client.get(_new(patient)).content.decode()
    assert "Douleur thoracique" in body and "Début brutal" in body and 'value="7x"' in body
    assert "Brouillon du" in body
    assert Event.objects.filter(action=Ev.DRAFT_RESUMED, actor=personas.alice).count() == 1
    # The banner of the record offers to resume it.
    assert "Reprendre la consultation en cours" in client.get(f"/patients/{patient.public_id}/").content.decode()
    # Another practitioner of the patient does not get alice's draft (the same test client: the
    # last login wins).
    assert "Douleur thoracique" not in login(personas.remi).get(_new(patient)).content.decode()
    assert login(personas.remi).post(f"/dossier/brouillons/{draft.public_id}/abandonner/").status_code == 404


def test_saving_the_same_text_again_writes_no_event(personas, login):
    client = login(personas.alice)
    url = f"/dossier/{personas.alice_patient.public_id}/brouillon/"
    for _ in range(3):
        client.post(url, {"motif": "Fièvre"}, **FETCH)
    client.post(url, {"motif": "Fièvre élevée"}, **FETCH)
    assert ConsultationDraft.objects.count() == 1
    assert Event.objects.filter(action=Ev.DRAFT_SAVED).count() == 2
    # The journal holds the draft's id, never its text.
    assert all("Fièvre" not in json.dumps(e.details) for e in Event.objects.all())


def test_the_draft_goes_when_the_consultation_is_saved(personas, login):
    patient = personas.alice_patient
    client = login(personas.alice)
    client.post(f"/dossier/{patient.public_id}/brouillon/", {"motif": "Angine"}, **FETCH)
    r = client.post(_new(patient), {"date": "2025-01-10T09:30", "motif": "Angine", "observations": ""})
    assert r.status_code == 302
    assert not ConsultationDraft.objects.exists()
    assert Consultation.objects.filter(patient=patient).count() == 1


def test_a_draft_of_an_edit_is_kept_apart_and_works_without_javascript(personas, login):
    consultation = make_consultation(personas.alice_patient, personas.alice, motif="Suivi")
    client = login(personas.alice)
    r = client.post(f"/dossier/consultations/{consultation.public_id}/brouillon/",
                    {"motif": "Suivi diabète", "save_draft": "1"})
    assert r.status_code == 302 and r["Location"].endswith(f"/consultations/{consultation.public_id}/modifier/")
    body = client.get(r["Location"]).content.decode()
    assert "Suivi diabète" in body
    assert "Suivi diabète" not in client.get(_new(personas.alice_patient)).content.decode()


def test_abandoning_a_draft(personas, login):
    client = login(personas.alice)
    client.post(f"/dossier/{personas.alice_patient.public_id}/brouillon/", {"motif": "Toux"}, **FETCH)
    draft = ConsultationDraft.objects.get()
    r = client.post(f"/dossier/brouillons/{draft.public_id}/abandonner/")
    assert r.status_code == 302
    assert not ConsultationDraft.objects.exists()
    assert "Toux" not in client.get(r["Location"]).content.decode()
    assert Event.objects.filter(action=Ev.DRAFT_DISCARDED).count() == 1


def test_roles_without_medical_edit_keep_no_draft(personas, login):
    for user in (personas.sophie, personas.fabien):
        r = login(user).post(f"/dossier/{personas.alice_patient.public_id}/brouillon/", {"motif": "x"}, **FETCH)
        assert r.status_code == 403
    assert not ConsultationDraft.objects.exists()


def test_a_template_is_its_owners_only(personas, login):
    client = login(personas.alice)
    r = client.post("/dossier/modeles/nouveau/", {"kind": "certificat", "title": "Certificat sport",
                                                  "body": "Je certifie avoir examiné {prenom} {nom}."})
    assert r.status_code == 302
    template = LetterTemplate.objects.get()
    assert template.owner == personas.alice
    assert login(personas.bob).get(f"/dossier/modeles/{template.public_id}/").status_code == 404
    assert "Certificat sport" not in login(personas.bob).get("/dossier/modeles/").content.decode()
    assert login(personas.sophie).get("/dossier/modeles/").status_code == 403
    client = login(personas.alice)  # the test client is one browser: alice signs in again
    r = client.post("/dossier/modeles/nouveau/", {"kind": "courrier", "title": "", "body": ""})
    assert "Donnez un nom au modèle." in r.content.decode()
    assert LetterTemplate.objects.count() == 1
    client.post(f"/dossier/modeles/{template.public_id}/", {"delete": "1"})
    assert not LetterTemplate.objects.exists()
    assert Event.objects.filter(action=Ev.LETTER_TEMPLATE_DELETED).count() == 1


def test_a_letter_is_filled_rendered_to_pdf_and_filed_in_the_record(personas, login, tmp_path):
    patient = personas.alice_patient
    client = login(personas.alice)
    template = LetterTemplate.objects.create(
        owner=personas.alice, kind="certificat", title="Certificat de non contre-indication",
        body="Je soussigné(e) {praticien} certifie avoir examiné {prenom} {nom}, né(e) le {date_naissance}, "
             "âgé(e) de {age} ans.\n\nFait le {date}. {inconnu}")
    body = client.get(f"/dossier/{patient.public_id}/courrier/?modele={template.public_id}").content.decode()
    assert "Jeanne MOREAU, né(e) le 17/05/1980" in body and "{inconnu}" in body
    text = ("Je certifie avoir examiné Jeanne MOREAU, née le 17/05/1980.\n\n"
            "Pas de contre-indication à la pratique du tennis.")
    r = client.post(f"/dossier/{patient.public_id}/courrier/",
                    {"kind": "certificat", "title": "Certificat de non contre-indication", "body": text})
    assert r.status_code == 302
    document = Document.objects.get(patient=patient)
    assert document.kind == "certificat" and document.content_type == "application/pdf"
    pdf = tmp_path / "letter.pdf"
    with documents.open_blob(document.storage_name, patient=patient) as blob:
        pdf.write_bytes(blob.read())
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("MOREAU", "tennis", personas.alice.display_name, "Certificat de non contre-indication"):
        assert expected in out, expected
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "MOREAU" not in info  # metadata name no one
    assert Event.objects.filter(action=Ev.LETTER_CREATED, patient_id=patient.pk).count() == 1
    assert Event.objects.filter(action=Ev.DOCUMENT_UPLOADED, patient_id=patient.pk).count() == 1


def test_a_letter_without_text_is_refused_and_nothing_filed(personas, login):
    r = login(personas.alice).post(f"/dossier/{personas.alice_patient.public_id}/courrier/",
                                   {"kind": "courrier", "title": "Lettre", "body": "  "})
    assert "Le courrier doit avoir un texte." in r.content.decode()
    assert not Document.objects.exists()


def test_a_template_cannot_reach_python_attributes(personas):
    from hygie.clinical import letters

    values = {"nom": "MOREAU"}
    assert letters.fill("{nom.__class__} {nom} {__import__}", values) == "{nom.__class__} MOREAU {__import__}"

import hashlib
import io
import os
import stat

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.patients import actions, documents
from hygie.patients.models import Document

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def documents_dir(settings, tmp_path):
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    return settings.DOCUMENTS_DIR


def _upload_url(patient):
    return f"/patients/{patient.public_id}/documents/ajouter/"


def _download_url(document):
    return f"/patients/documents/{document.public_id}/"


def _post(client, patient, content=PDF, name="compte-rendu.pdf", content_type="application/pdf", **extra):
    data = {"title": "Compte rendu IRM genou", "kind": "compte_rendu",
            "file": SimpleUploadedFile(name, content, content_type=content_type), **extra}
    return client.post(_upload_url(patient), data)


def _blobs(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def _stored(patient, user, content=PDF):
    return actions.upload_document(actor=user, patient=patient, title="Radio", kind="resultat",
                                   fileobj=io.BytesIO(content))


def test_it_redirects_anonymous_to_login(personas, client):
    doc = _stored(personas.alice_patient, personas.alice)
    for url in (_upload_url(personas.alice_patient), _download_url(doc)):
        r = client.get(url)
        assert r.status_code == 302
        assert "/auth/login/" in r["Location"]


def test_it_hides_other_patienteles(personas, login, documents_dir):
    doc = _stored(personas.alice_patient, personas.alice)
    client = login(personas.bob)
    assert _post(client, personas.alice_patient).status_code == 404
    assert client.get(_download_url(doc)).status_code == 404
    assert Document.objects.count() == 1
    assert len(_blobs(documents_dir)) == 1
    assert not Event.objects.filter(action=Ev.DOCUMENT_DOWNLOADED).exists()


def test_it_refuses_non_medical_roles(personas, login, documents_dir):
    doc = _stored(personas.alice_patient, personas.alice)
    for user in (personas.sophie, personas.fabien):
        client = login(user)
        assert _post(client, personas.alice_patient).status_code == 403
        assert client.get(_download_url(doc)).status_code == 403
    for user in (personas.regine, personas.adam):
        client = login(user)
        assert _post(client, personas.alice_patient).status_code == 404
        assert client.get(_download_url(doc)).status_code == 404
    assert Document.objects.count() == 1
    assert len(_blobs(documents_dir)) == 1


def test_it_stores_a_pdf(personas, login, documents_dir):
    r = _post(login(personas.alice), personas.alice_patient)
    assert r.status_code == 302
    assert r["Location"] == f"/patients/{personas.alice_patient.public_id}/"
    doc = Document.objects.get()
    assert doc.content_type == "application/pdf"
    assert doc.size == len(PDF)
    # The hash of the stored ciphertext, never of the document (a known file would be recognised).
    assert doc.sha256 == hashlib.sha256((documents_dir / doc.storage_name).read_bytes()).hexdigest()
    assert doc.sha256 != hashlib.sha256(PDF).hexdigest()
    assert doc.uploaded_by == personas.alice
    # A random name that says nothing of the file, readable by the owner only.
    assert _blobs(documents_dir) == [doc.storage_name]
    assert "compte" not in doc.storage_name and len(doc.storage_name) == 32
    blob = documents_dir / doc.storage_name
    # Encrypted at rest; decrypted as it is read.
    assert PDF[:20] not in blob.read_bytes() and blob.read_bytes().startswith(b"HYGD")
    with documents.open_blob(doc.storage_name, patient=personas.alice_patient) as f:
        assert f.read() == PDF
    assert stat.S_IMODE(os.stat(blob).st_mode) == 0o600
    event = Event.objects.get(action=Ev.DOCUMENT_UPLOADED, actor=personas.alice)
    assert event.patient_id == personas.alice_patient.pk
    assert "IRM" not in repr(event.details)


def test_it_judges_the_type_by_content_not_by_name(personas, login, documents_dir):
    client = login(personas.alice)
    r = _post(client, personas.alice_patient, content=EXE, name="resultats.pdf", content_type="application/pdf")
    assert r.status_code == 200
    assert "Seuls les fichiers PDF et les images" in r.content.decode()
    assert not Document.objects.exists()
    assert _blobs(documents_dir) == []
    r = _post(client, personas.alice_patient, content=PNG, name="scan.exe", content_type="application/x-msdownload")
    assert r.status_code == 302
    assert Document.objects.get().content_type == "image/png"


def test_it_refuses_files_over_the_limit(personas, login, settings, documents_dir):
    settings.UPLOAD_MAX_MB = 1
    big = PDF + b"0" * (1024 * 1024)
    r = _post(login(personas.alice), personas.alice_patient, content=big)
    assert r.status_code == 200
    assert "taille maximale autorisée (1 Mo)" in r.content.decode()
    assert not Document.objects.exists()
    assert _blobs(documents_dir) == []


def test_it_refuses_a_missing_title_or_file(personas, login, documents_dir):
    client = login(personas.alice)
    r = _post(client, personas.alice_patient, title="")
    assert r.status_code == 200
    r = client.post(_upload_url(personas.alice_patient), {"title": "Radio", "kind": "resultat"})
    assert "Choisissez un fichier." in r.content.decode()
    assert not Document.objects.exists()
    assert _blobs(documents_dir) == []


def test_it_downloads_identical_bytes_under_a_neutral_name(personas, login):
    doc = _stored(personas.alice_patient, personas.alice)
    r = login(personas.remi).get(_download_url(doc))
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == PDF
    assert r["Content-Type"] == "application/pdf"
    assert r["X-Content-Type-Options"] == "nosniff"
    disposition = r["Content-Disposition"]
    assert disposition == f'attachment; filename="document-{doc.public_id.hex[:8]}.pdf"'
    assert "Radio" not in disposition and "Moreau" not in disposition
    event = Event.objects.get(action=Ev.DOCUMENT_DOWNLOADED, actor=personas.remi)
    assert event.target_id == str(doc.pk)


def test_it_removes_the_blob_when_the_record_fails(personas, monkeypatch, documents_dir):
    def boom(*args, **kwargs):
        raise RuntimeError("journal unavailable")

    monkeypatch.setattr(journal, "record", boom)
    with pytest.raises(RuntimeError):
        _stored(personas.alice_patient, personas.alice)
    assert not Document.objects.exists()
    assert _blobs(documents_dir) == []


def test_it_sniffs_accepted_types():
    assert documents.sniff(PDF) == "application/pdf"
    assert documents.sniff(PNG) == "image/png"
    assert documents.sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image/jpeg"
    assert documents.sniff(b"GIF89a\x01\x00") == "image/gif"
    assert documents.sniff(b"RIFF\x24\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert documents.sniff(b"II*\x00\x08\x00") == "image/tiff"
    assert documents.sniff(b"MM\x00*\x00\x00") == "image/tiff"
    for refused in (EXE, b"<html>", b"PK\x03\x04", b"RIFF\x24\x00\x00\x00WAVE", b"", b" %PDF-1.4"):
        assert documents.sniff(refused) is None


def test_it_refuses_paths_outside_the_documents_dir():
    with pytest.raises(ValueError):
        documents.open_blob("../../etc/passwd", patient=None)


def test_it_stops_streaming_past_the_limit_and_leaves_nothing(personas, documents_dir):
    patient = personas.alice_patient
    with pytest.raises(documents.TooLarge):
        documents.save_stream(io.BytesIO(PDF + b"0" * 200_000), patient=patient, limit=100_000)
    assert _blobs(documents_dir) == []
    blob = documents.save_stream(io.BytesIO(PDF), patient=patient, limit=len(PDF))
    assert blob.size == len(PDF)
    with documents.open_blob(blob.storage_name, patient=patient) as f:
        assert f.read() == PDF
    documents.delete_blob(blob.storage_name)
    assert _blobs(documents_dir) == []

"""Exports that leave encrypted (issues 10, 19): a rights answer and the « contrôle CNIL » pack
as 7z AES archives from their pages (passphrase shown once, download bound to the session that
made it), `hygie gdpr pack --7z`, and the exchange activity in the GDPR register."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from html import unescape

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from hygie.access import records
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from hygie.compliance import pack
from hygie.compliance import register as reg
from hygie.exchange import actions
from hygie.exchange.content import Selection
from hygie.exchange.models import MssanteAccount
from hygie.practices.models import Practice
from hygie.rights import actions as rights_actions
from tests.rights.helpers import fill_record
from tests.rights.helpers import record as rights_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def practice(db):
    return Practice.objects.create(name="Cabinet des Lilas")


def _passphrase(response) -> str:
    page = unescape(response.content.decode())
    return re.search(r'<p class="passphrase" lang="fr">([^<]+)</p>', page).group(1)


def _download_link(response) -> str:
    return re.search(r'href="(/[^"]+/remises/[^"]+/)"', response.content.decode()).group(1)


def _extract(data: bytes, passphrase: str, tmp_path) -> list:
    archive = tmp_path / "a.7z"
    archive.write_bytes(data)
    done = subprocess.run(["7z", "x", f"-p{passphrase}", f"-o{tmp_path / 'x'}", str(archive)],
                          capture_output=True, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stdout
    blind = subprocess.run(["7z", "l", "-p", str(archive)], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, check=False)
    assert "dossier-" not in blind.stdout and "controle-cnil" not in blind.stdout
    return sorted((tmp_path / "x").iterdir())


def test_a_rights_answer_leaves_as_a_7z_journaled_with_its_request(personas, documents_dir, login, tmp_path):
    patient = personas.alice_patient
    fill_record(patient, personas.alice)
    req = rights_request(personas.alice, patient, "acces")
    client = login(personas.alice)
    detail = client.get(reverse("rights_request", kwargs={"public_id": req.public_id})).content.decode()
    url = reverse("rights_export_7z", kwargs={"public_id": req.public_id})
    assert url in detail

    response = client.post(url, {"format": "pdf"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    passphrase = _passphrase(response)
    assert len(passphrase.split("-")) == 7
    exported = Event.objects.get(action=Ev.RIGHTS_EXPORTED)
    assert exported.details["request"] == str(req.public_id) and exported.details["archive"] == "7z"
    archived = Event.objects.get(action=Ev.EXCHANGE_FILES_ARCHIVED)
    assert archived.details["request"] == str(req.public_id) and archived.details["purpose"] == "rights"
    assert passphrase not in str(list(Event.objects.values_list("details", flat=True)))

    link = _download_link(response)
    # Another session (even the same titulaire's) does not know this archive.
    other = Client()
    other.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    assert other.get(link).status_code == 404
    download = client.get(link)
    assert download.status_code == 200 and patient.last_name not in download["Content-Disposition"]
    [copy] = _extract(b"".join(download.streaming_content), passphrase, tmp_path)
    assert copy.name == f"dossier-{patient.code}.pdf" and copy.read_bytes().startswith(b"%PDF")
    assert Event.objects.filter(action=Ev.EXCHANGE_ARCHIVE_DOWNLOADED, details__purpose="rights").exists()
    # The archive counts as the export that answers the request.
    rights_actions.answer(actor=personas.alice, request=req)


def test_a_bad_format_or_a_refused_request_writes_nothing(personas, documents_dir, login):
    req = rights_request(personas.alice, personas.alice_patient, "acces")
    client = login(personas.alice)
    url = reverse("rights_export_7z", kwargs={"public_id": req.public_id})
    response = client.post(url, {"format": "docx"}, follow=True)
    assert "Format inconnu" in response.content.decode()
    assert not Event.objects.filter(action__in=[Ev.RIGHTS_EXPORTED, Ev.EXCHANGE_FILES_ARCHIVED]).exists()
    assert not list(actions.outbox_dir().iterdir())
    # The secretary records requests but never exports.
    assert login(personas.sophie).post(url, {"format": "pdf"}).status_code == 403


def test_a_failed_archive_leaves_no_export_in_the_journal(personas, documents_dir, tmp_path):
    req = rights_request(personas.alice, personas.alice_patient, "portabilite")
    material = records.record_material(personas.alice, personas.alice_patient)
    with pytest.raises(rights_actions.ActionError, match="Écriture de l'archive impossible"):
        rights_actions.export_archive(actor=personas.alice, request=req, fmt="fhir", material=material,
                                      out=tmp_path / "absent" / "x.7z")
    assert not Event.objects.filter(action=Ev.RIGHTS_EXPORTED).exists()


def test_the_cnil_pack_leaves_as_a_7z_from_the_compliance_page(personas, practice, documents_dir, login, tmp_path):
    client = login(personas.adam)
    page = client.get(reverse("compliance")).content.decode()
    assert reverse("compliance_pack_7z") in page
    response = client.post(reverse("compliance_pack_7z"))
    assert response.status_code == 200
    passphrase = _passphrase(response)
    download = client.get(_download_link(response))
    [inner] = _extract(b"".join(download.streaming_content), passphrase, tmp_path)
    assert inner.name.startswith("controle-cnil-") and inner.suffix == ".zip"
    with zipfile.ZipFile(inner) as z:
        assert "n'existe pas encore" not in z.read("NOTE.txt").decode()
        assert "--7z" in z.read("NOTE.txt").decode()
    archived = Event.objects.get(action=Ev.EXCHANGE_FILES_ARCHIVED)
    exported = Event.objects.get(action=Ev.COMPLIANCE_PACK_EXPORTED)
    assert archived.details["purpose"] == "cnil" and archived.details["sha256"] == exported.details["sha256"]


def test_gdpr_pack_7z_prints_the_passphrase_once_and_never_overwrites(practice, documents_dir, tmp_path):
    out = tmp_path / "cnil.7z"
    stdout = io.StringIO()
    call_command("gdpr", "pack", "--7z", "--out", str(out), stdout=stdout)
    passphrase = re.search(r"Phrase de passe[^:]*: (\S+)", stdout.getvalue()).group(1)
    [inner] = _extract(out.read_bytes(), passphrase, tmp_path)
    assert zipfile.is_zipfile(inner)
    assert Event.objects.get(action=Ev.EXCHANGE_FILES_ARCHIVED).actor_role == "cli"
    with pytest.raises(CommandError, match="existe déjà"):
        call_command("gdpr", "pack", "--7z", "--out", str(out), stdout=io.StringIO())
    # The plain pack keeps its contract.
    call_command("gdpr", "pack", "--out", str(tmp_path / "cnil.zip"), stdout=io.StringIO())
    assert zipfile.is_zipfile(tmp_path / "cnil.zip")
    assert pack.ENCRYPTION_NOTE in zipfile.ZipFile(tmp_path / "cnil.zip").read("NOTE.txt").decode()


def test_the_pack_is_not_wrapped_during_a_lockdown(practice, documents_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(actions, "lockdown_active", lambda: True)
    with pytest.raises(CommandError, match="Hygie est isolé"):
        call_command("gdpr", "pack", "--7z", "--out", str(tmp_path / "cnil.7z"), stdout=io.StringIO())
    assert not (tmp_path / "cnil.7z").exists()
    assert Event.objects.filter(action=Ev.EXCHANGE_FILES_ARCHIVED, outcome=Outcome.DENIED).count() == 1
    assert not Event.objects.filter(action=Ev.COMPLIANCE_PACK_EXPORTED).exists()


def _keys() -> list[str]:
    return [a["key"] for a in reg.build()["activities"]]


def test_the_register_has_the_exchange_once_an_mssante_account_exists(practice, personas):
    assert "echanges" not in _keys()
    MssanteAccount.objects.create(
        address="cabinet@lilas.mssante.fr", smtp_host="smtp.operateur.example", imap_host="imap.operateur.example"
    )
    [activity] = [a for a in reg.build()["activities"] if a["key"] == "echanges"]
    assert any("smtp.operateur.example" in p for p in activity["recipients"]["processors"])
    assert any("MSSanté" in e for e in activity["recipients"]["external"])
    assert {r["role"] for r in activity["recipients"]["internal"]} == {"Praticien titulaire", "Remplaçant"}


def test_the_register_has_the_exchange_once_an_archive_was_made(personas, record, tmp_path):
    patient, docs = record
    actions.write_archive(actor=personas.alice, selection=Selection(patient=patient, documents=docs),
                          out=tmp_path / "x.7z")
    [activity] = [a for a in reg.build()["activities"] if a["key"] == "echanges"]
    assert not any("Opérateur" in p for p in activity["recipients"]["processors"])

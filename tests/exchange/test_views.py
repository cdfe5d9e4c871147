"""The exchange pages, driven through the test client as a user would."""

from __future__ import annotations

import re
import subprocess
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hygie.access import records
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.exchange import account as accounts
from hygie.exchange.models import Direction, Exchange, MssanteRecipient
from tests.accounts.flows import reauthenticate
from tests.exchange.conftest import PDF

pytestmark = pytest.mark.django_db


def _page(response) -> str:
    return unescape(response.content.decode())


def test_a_titulaire_makes_an_archive_sees_its_passphrase_once_and_downloads_it(personas, record, login, tmp_path):
    patient, docs = record
    client = login(personas.alice)
    url = reverse("exchange_send", kwargs={"public_id": patient.public_id})
    page = _page(client.get(url))
    assert "Compte rendu opératoire" in page and "Archive 7z chiffrée" in page
    assert "MSSanté)" in page and "n'est pas configurée" in page

    response = client.post(url, {"documents": [str(docs[0].public_id)], "summary": "on", "mode": "archive"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    page = _page(response)
    passphrase = re.search(r'<p class="passphrase" lang="fr">([^<]+)</p>', page).group(1)
    assert len(passphrase.split("-")) == 7 and "téléphone" in page
    exchange = Exchange.objects.get(direction=Direction.ARCHIVE)
    assert passphrase not in str(list(Event.objects.values_list("details", flat=True)))

    download = client.get(reverse("exchange_download", kwargs={"public_id": exchange.public_id}))
    assert download.status_code == 200
    assert "envoi-" in download["Content-Disposition"] and "Moreau" not in download["Content-Disposition"]
    archive = tmp_path / "a.7z"
    archive.write_bytes(b"".join(download.streaming_content))
    out = subprocess.run(["7z", "x", f"-p{passphrase}", f"-o{tmp_path / 'x'}", str(archive)], capture_output=True,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0
    assert (tmp_path / "x/documents/01-compte-rendu-operatoire.pdf").read_bytes() == PDF
    assert Event.objects.filter(action=Ev.EXCHANGE_ARCHIVE_DOWNLOADED, patient_id=patient.pk).exists()


def test_the_form_asks_for_something_to_send(personas, record, login):
    client = login(personas.alice)
    url = reverse("exchange_send", kwargs={"public_id": record[0].public_id})
    page = _page(client.post(url, {"mode": "archive"}))
    assert "Choisissez au moins un élément" in page
    assert not Exchange.objects.exists()


def test_a_non_mssante_address_is_refused_in_french(personas, record, login):
    accounts_row = _account(personas)
    assert accounts_row is not None
    client = login(personas.alice)
    url = reverse("exchange_send", kwargs={"public_id": record[0].public_id})
    page = _page(client.post(url, {"documents": [str(record[1][0].public_id)], "mode": "mssante",
                                   "recipient": "docteur@gmail.com"}))
    assert "n'est pas une adresse de messagerie sécurisée de santé" in page
    assert not Exchange.objects.exists()


def _account(personas):
    from hygie.exchange import actions

    return actions.save_account(actor=personas.adam, data={
        "address": "cabinet@pro.mssante.fr", "smtp_host": "localhost", "smtp_port": 1, "smtp_security": "starttls",
        "imap_host": "localhost", "imap_port": 1, "imap_security": "starttls", "auth": "password",
        "username": "u", "password": "p", "ca_pem": "",
    })


def test_a_received_archive_is_filed_from_the_page(personas, record, login, tmp_path):
    patient, before = record
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bilan.pdf").write_bytes(PDF)
    archive = tmp_path / "in.7z"
    subprocess.run(["7z", "a", "-mhe=on", "-plabo-phrase", str(archive), "."], cwd=folder, check=True,
                   capture_output=True, stdin=subprocess.DEVNULL)
    client = login(personas.alice)
    url = reverse("exchange_receive", kwargs={"public_id": patient.public_id})
    assert "Classer dans ce dossier" in _page(client.get(url))
    upload = SimpleUploadedFile("in.7z", archive.read_bytes(), content_type="application/octet-stream")
    response = client.post(url, {"archive": upload, "passphrase": "mauvaise"})
    assert "Phrase de passe incorrecte" in _page(response)
    upload = SimpleUploadedFile("in.7z", archive.read_bytes(), content_type="application/octet-stream")
    response = client.post(url, {"archive": upload, "passphrase": "labo-phrase"})
    assert response.status_code == 302
    titles = [d.title for d in records.documents_of(personas.alice, patient) if d not in before]
    assert titles == ["bilan.pdf"]


def test_the_mssante_account_page_asks_to_reauthenticate_and_never_shows_the_secret(personas, login):
    client = login(personas.adam)
    url = reverse("mssante_account")
    response = client.get(url)
    assert response.status_code == 302 and "/auth/reauthenticate/" in response["Location"]
    assert reauthenticate(client).status_code == 302
    data = {
        "address": "cabinet@pro.mssante.fr", "smtp_host": "smtp.operateur.example", "smtp_port": 587,
        "smtp_security": "starttls", "imap_host": "imap.operateur.example", "imap_port": 143,
        "imap_security": "starttls", "auth": "password", "username": "cabinet", "password": "Tr3s-s3cret-mssante",
    }
    assert client.post(url, data).status_code == 302
    page = _page(client.get(url))
    assert "Tr3s-s3cret-mssante" not in page and "secret enregistré" in page
    assert accounts.get_secret(accounts.current()) == {"password": "Tr3s-s3cret-mssante"}
    page = _page(client.post(url, {**data, "address": "cabinet@gmail.com"}))
    assert "adresse MSSanté" in page


def test_a_titulaire_declares_an_address_outside_mssante_fr(personas, login):
    client = login(personas.alice)
    url = reverse("mssante_recipients")
    assert client.post(url, {"address": "labo@ch-lilas.fr"}).status_code == 302
    recipient = MssanteRecipient.objects.get()
    assert "labo@ch-lilas.fr" in _page(client.get(url))
    assert Event.objects.filter(action=Ev.MSSANTE_RECIPIENT_MARKED).exists()
    remove = reverse("mssante_recipient_remove", kwargs={"public_id": recipient.public_id})
    assert client.post(remove).status_code == 302
    assert not MssanteRecipient.objects.exists()


def test_the_record_page_links_to_the_exchange(personas, record, login):
    client = login(personas.alice)
    page = _page(client.get(reverse("patient_detail", kwargs={"public_id": record[0].public_id})))
    assert "Envoyer à un confrère" in page and "Classer des documents reçus" in page
    client = login(personas.sophie)
    page = _page(client.get(reverse("patient_detail", kwargs={"public_id": record[0].public_id})))
    assert "Envoyer à un confrère" not in page

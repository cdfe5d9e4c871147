"""The compliance pages: admin and referent only, the first-run profile, the dashboard nag,
contract upload, downloads journaled, never a patient name."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.compliance.models import Processor, Profile
from tests.compliance.conftest import PDF, pdf_text

PATIENT_NAMES = ("Moreau", "Jeanne", "Bernard", "Louis")


@pytest.mark.parametrize("who", ["regine", "adam"])
def test_admin_and_referent_see_the_page_without_patient_names(who, personas, practice, login):
    response = login(getattr(personas, who)).get(reverse("compliance"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Registre des traitements" in body and "Profil du cabinet à compléter" in body
    for name in PATIENT_NAMES:
        assert name not in body


@pytest.mark.parametrize("who", ["alice", "remi", "sophie", "fabien"])
def test_other_roles_are_refused(who, personas, practice, login):
    assert login(getattr(personas, who)).get(reverse("compliance")).status_code == 403


def test_the_dashboard_nags_until_the_profile_is_complete(personas, practice, login):
    client = login(personas.regine)
    assert "Compléter le profil du cabinet" in client.get(reverse("dashboard")).content.decode()
    response = client.post(reverse("compliance_profile"), {
        "practice_type": "groupe", "address": "1 rue des Lilas\n69003 Lyon", "contact_kind": "referent",
        "contact_name": "Régine Test", "contact_email": "rgpd@example.org", "hosting": "Serveur au cabinet",
        "hosting_hds": "on", "patients_per_year": "3000", "shared_system": "on",
    })
    assert response.status_code == 302
    assert Profile.objects.get().address == "1 rue des Lilas\n69003 Lyon"
    assert "compliance-panel" not in client.get(reverse("dashboard")).content.decode()
    # Not shown to a role without the capability.
    assert "compliance-panel" not in login(personas.alice).get(reverse("dashboard")).content.decode()


def test_a_bad_siret_is_refused_in_french_and_nothing_saved(personas, practice, login):
    response = login(personas.adam).post(reverse("compliance_profile"), {"address": "x", "siret": "12"})
    assert response.status_code == 200
    assert "Le SIRET compte 14 chiffres." in response.content.decode()
    assert not Profile.objects.exists()


def test_a_contract_upload_that_is_not_a_pdf_is_refused(personas, practice, login):
    response = login(personas.regine).post(reverse("compliance_processor_add"), {
        "name": "Hébergeur", "service": "hosting", "data_seen": "health", "location": "France", "in_eu": "on",
        "contract": SimpleUploadedFile("contrat.docx", b"PK\x03\x04 word", content_type="application/pdf"),
    })
    assert response.status_code == 200
    assert "Seuls les fichiers PDF et les images" in response.content.decode()
    assert not Processor.objects.exists()


def test_a_processor_with_its_contract_then_the_download(personas, practice, login):
    client = login(personas.regine)
    response = client.post(reverse("compliance_processor_add"), {
        "name": "Hébergeur", "service": "hosting", "data_seen": "health", "location": "France", "in_eu": "on",
        "hds_number": "HDS-9", "hds_expires_on": "2030-01-01", "contract_signed_on": "2025-01-15",
        "contract": SimpleUploadedFile("contrat.pdf", PDF, content_type="application/pdf"),
    })
    assert response.status_code == 302
    processor = Processor.objects.get()
    download = client.get(reverse("compliance_contract", kwargs={"public_id": processor.public_id}))
    assert download.content == PDF
    assert Event.objects.filter(action=Ev.COMPLIANCE_CONTRACT_DOWNLOADED).count() == 1


@pytest.mark.parametrize("fmt", ["json", "csv", "pdf"])
def test_the_register_downloads_and_is_journaled(fmt, personas, practice, login):
    response = login(personas.adam).get(reverse("compliance_register") + f"?format={fmt}")
    assert response.status_code == 200
    assert Event.objects.filter(action=Ev.COMPLIANCE_REGISTER_GENERATED).get().details["format"] == fmt
    if fmt == "json":
        assert json.loads(response.content)["controller"]["name"] == "Cabinet des Tilleuls"


def test_an_unknown_format_is_404(personas, practice, login):
    assert login(personas.adam).get(reverse("compliance_register") + "?format=xls").status_code == 404


@pytest.mark.parametrize(("word", "kind"), [("affiche", "poster"), ("note", "handout")])
def test_the_notices_say_what_why_how_long_rights_and_cnil(word, kind, personas, practice, login, tmp_path):
    response = login(personas.regine).get(reverse("compliance_notice") + f"?type={word}")
    assert response.status_code == 200
    text = pdf_text(response.content, tmp_path, mode="-raw")
    for heading in ("Qui traite vos données", "Pourquoi", "Combien de temps", "Qui les reçoit", "Vos droits",
                    "Réclamation", "CNIL"):
        assert heading in text, heading
    assert "20 ans après la dernière consultation" in text
    assert Event.objects.get(action=Ev.COMPLIANCE_NOTICE_EXPORTED).details == {"kind": kind}
    if kind == "handout":
        assert "Information du personnel" in text


def test_the_poster_fits_one_a4_page(personas, practice, login, tmp_path):
    response = login(personas.regine).get(reverse("compliance_notice") + "?type=affiche")
    assert pdf_text(response.content, tmp_path).count("\f") == 1


def test_the_pack_button(personas, practice, login):
    response = login(personas.adam).get(reverse("compliance_pack"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert Event.objects.filter(action=Ev.COMPLIANCE_PACK_EXPORTED).count() == 1

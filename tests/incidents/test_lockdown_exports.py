"""While Hygie is isolated, the newer exports follow the rule of every download (docs/incidents.md):
rights exports (PDF, FHIR, 7z), the « contrôle CNIL » pack (ZIP, 7z) and its wrapped download,
the checklist poster, clinical letter PDFs. A session that slipped through is cut; the admin
allowed at the machine reaches the incident pages only (GET redirected, POST 423); nothing is
produced or journaled as exported. Only the fiche réflexe stays printable."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.clinical import actions as clinical_actions
from hygie.incidents import actions
from hygie.patients.models import Document
from hygie.practices.models import Practice
from tests.rights.helpers import record as rights_request

pytestmark = pytest.mark.django_db

EXPORTS = [Ev.RIGHTS_EXPORTED, Ev.EXCHANGE_FILES_ARCHIVED, Ev.EXCHANGE_ARCHIVE_DOWNLOADED,
           Ev.COMPLIANCE_PACK_EXPORTED, Ev.CHECKLIST_POSTER_EXPORTED, Ev.LETTER_CREATED]


@pytest.fixture
def practice(db):
    return Practice.objects.create(name="Cabinet des Lilas")


@pytest.fixture
def documents_dir(tmp_path, settings):
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    settings.DATA_DIR = tmp_path / "var"
    settings.DATA_DIR.mkdir()
    return settings.DOCUMENTS_DIR


def _slipped_in(user) -> Client:
    # A sign-in after the switch by another path (say a passkey): the middleware still cuts it.
    user.refresh_from_db()
    client = Client()
    client.force_login(user, backend="hygie.accounts.backends.HygieBackend")
    return client


def _cut(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def _no_export() -> None:
    assert not Event.objects.filter(action__in=EXPORTS, outcome="success").exists()


def test_rights_exports_are_refused_in_every_form(personas, practice):
    req = rights_request(personas.alice, personas.alice_patient, "acces")
    key = {"public_id": req.public_id}
    actions.start_lockdown(actor=None, reason="Poste compromis")
    for name in ("rights_export_pdf", "rights_export_fhir"):
        assert _cut(_slipped_in(personas.alice).get(reverse(name, kwargs=key)))
    assert _cut(_slipped_in(personas.alice).post(reverse("rights_export_7z", kwargs=key), {"format": "pdf"}))
    _no_export()


def test_the_cnil_pack_and_the_poster_are_refused_even_to_the_allowed_admin(personas, practice):
    actions.start_lockdown(actor=None, reason="Poste compromis", allow=personas.adam)
    admin = _slipped_in(personas.adam)
    for name in ("compliance_pack", "checklist_poster"):
        assert admin.get(reverse(name))["Location"] == reverse("incidents")
    assert admin.post(reverse("compliance_pack_7z")).status_code == 423
    assert _cut(_slipped_in(personas.regine).get(reverse("compliance_pack")))
    assert _cut(_slipped_in(personas.regine).get(reverse("checklist_poster")))
    # The fiche réflexe holds no patient data: it stays printable.
    assert admin.get(reverse("incident_fiche_pdf")).status_code == 200
    _no_export()


def test_a_wrapped_archive_made_before_the_switch_is_not_downloaded(personas, practice, documents_dir):
    client = Client()
    client.force_login(personas.adam, backend="hygie.accounts.backends.HygieBackend")
    response = client.post(reverse("compliance_pack_7z"))
    link = re.search(r'href="(/[^"]+/remises/[^"]+/)"', response.content.decode()).group(1)
    actions.start_lockdown(actor=None, reason="Poste compromis", allow=personas.adam)
    # The session that made it ended with the switch; the crisis session reaches incident pages only.
    assert _cut(client.get(link))
    response = _slipped_in(personas.adam).get(link)
    assert response["Location"] == reverse("incidents") and not response.has_header("Content-Disposition")
    assert not Event.objects.filter(action=Ev.EXCHANGE_ARCHIVE_DOWNLOADED, outcome="success").exists()


def test_clinical_letters_are_neither_made_nor_opened(personas, practice, documents_dir):
    patient = personas.alice_patient
    letter = clinical_actions.create_letter(actor=personas.alice, patient=patient, kind="courrier",
                                            title="Courrier au confrère", body="Cher confrère,")
    letters = Document.objects.count()
    actions.start_lockdown(actor=None, reason="Poste compromis")
    client = _slipped_in(personas.alice)
    response = client.post(reverse("letter_new", kwargs={"public_id": patient.public_id}),
                           {"kind": "courrier", "title": "Certificat", "body": "Je soussigné"})
    assert _cut(response) and Document.objects.count() == letters
    response = _slipped_in(personas.alice).get(reverse("document_view", kwargs={"public_id": letter.public_id}))
    assert _cut(response) and not response.has_header("Content-Disposition")
    assert Event.objects.filter(action=Ev.LETTER_CREATED).count() == 1  # the one made before the switch

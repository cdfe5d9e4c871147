"""The exchange pages in a real browser: strict CSP respected, keyboard-usable, an archive made
from a record with its passphrase shown, and screenshots at three widths (test-artifacts/)."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from hygie.patients import actions as patient_actions
from tests.browser.flows import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

WIDTHS = (1366, 768, 390)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _shots(page, artifacts, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"exchange-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_titulaire_sends_an_archive_from_the_keyboard(page, people, artifacts):
    alice = people.alice
    patient = people.alice_patient
    patient_actions.upload_document(
        actor=alice, patient=patient, title="Compte rendu opératoire", kind="compte_rendu", fileobj=io.BytesIO(PDF)
    )
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, alice)
    page.goto(f"/patients/{patient.public_id}/")
    page.get_by_role("link", name="Envoyer à un confrère").click()
    expect(page.locator("h1")).to_contain_text("Envoyer à un confrère")
    _shots(page, artifacts, "send")
    # Keyboard only: tick the document, keep "archive", submit.
    page.get_by_label("Compte rendu opératoire (Compte rendu)").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Envoyer").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Archive chiffrée prête")
    assert len(page.locator(".passphrase").inner_text().split("-")) == 7
    _shots(page, artifacts, "archive-ready")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger l'archive (.7z)").click()
    assert download.value.suggested_filename.startswith("envoi-")
    page.goto(f"/echanges/dossier/{patient.public_id}/recevoir/")
    expect(page.locator("h1")).to_contain_text("Classer des documents reçus")
    _shots(page, artifacts, "receive")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_the_administrator_configures_the_mssante_account(page, people, artifacts):
    sign_in(page, people.adam)
    page.get_by_role("link", name="Messagerie sécurisée").click()
    # Re-authentication first.
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Messagerie sécurisée (MSSanté)")
    _shots(page, artifacts, "account")


def test_a_rights_copy_and_the_cnil_pack_leave_as_7z_archives(page, people, artifacts):
    from django.utils import timezone

    from hygie.practices.models import Practice
    from hygie.rights import actions as rights_actions

    Practice.objects.get_or_create(name="Cabinet des Lilas")
    req = rights_actions.record_request(
        actor=people.alice, patient=people.alice_patient, right="acces",
        received_at=timezone.now() - timezone.timedelta(hours=72), channel="sur_place", requester="patient",
        identity_document="cni", identity_seen="Nom et photo concordants",
    )
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, people.alice)
    page.goto(f"/droits/demandes/{req.public_id}/")
    _shots(page, artifacts, "rights-request")
    page.get_by_label("Format").select_option("pdf")
    page.get_by_role("button", name="Archive chiffrée (.7z)").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Archive chiffrée prête")
    assert len(page.locator(".passphrase").inner_text().split("-")) == 7
    _shots(page, artifacts, "rights-ready")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger l'archive (.7z)").click()
    assert download.value.suggested_filename.startswith("copie-")
    assert not [e for e in errors if "Content Security Policy" in e], errors

"""The referent completes the practice profile from the dashboard's nag, adds a processor with
its contract and produces the « contrôle CNIL » pack, in Chromium, keyboard and plain forms; the
pages are photographed at three widths (test-artifacts/)."""

from __future__ import annotations

import zipfile

from playwright.sync_api import expect

from hygie.compliance.models import Processor, Profile
from hygie.practices.models import Practice
from tests.browser.flows import sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_the_referent_completes_the_profile_and_produces_the_pack(page, people, artifacts, tmp_path):
    Practice.objects.create(name="Cabinet des Tilleuls")
    sign_in(page, people.regine)
    expect(page.locator("#compliance-panel")).to_contain_text("Le profil du cabinet est incomplet")
    page.get_by_role("link", name="Compléter le profil du cabinet").click()
    expect(page.locator("h1")).to_have_text("Profil RGPD du cabinet")
    page.select_option("#id_practice_type", "groupe")
    page.fill("#id_address", "12 rue des Tilleuls\n69003 Lyon")
    page.select_option("#id_contact_kind", "referent")
    page.fill("#id_contact_name", "Régine Test")
    page.fill("#id_contact_email", "rgpd@example.org")
    page.fill("#id_hosting", "Serveur au cabinet")
    page.check("#id_hosting_hds")
    page.fill("#id_patients_per_year", "3200")
    page.check("#id_shared_system")
    for width in (1366, 768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"compliance-profile-{width}.png"), full_page=True)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("h1")).to_contain_text("Conformité RGPD")
    assert Profile.objects.get().patients_per_year == 3200

    page.get_by_role("link", name="Ajouter un sous-traitant").click()
    page.fill("#id_name", "Hébergeur Exemple")
    page.select_option("#id_service", "backup")
    page.fill("#id_hds_number", "HDS-0001")
    page.fill("#id_hds_expires_on", "2030-01-31")
    page.fill("#id_contract_signed_on", "2025-02-01")
    contract = tmp_path / "contrat.pdf"
    contract.write_bytes(PDF)
    page.set_input_files("#id_contract", str(contract))
    page.set_viewport_size({"width": 390, "height": 900})
    page.screenshot(path=str(artifacts / "compliance-processor-390.png"), full_page=True)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#processors + table, .table-scroll").first).to_contain_text("Hébergeur Exemple")
    assert Processor.objects.get().has_contract

    for width in (1366, 768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/conformite/")
        page.screenshot(path=str(artifacts / f"compliance-{width}.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="Produire le dossier « contrôle CNIL » (ZIP)").click()
    path = tmp_path / "pack.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as z:
        assert "registre/registre.pdf" in z.namelist()
    page.goto("/")
    expect(page.locator("#compliance-panel")).to_have_count(0)

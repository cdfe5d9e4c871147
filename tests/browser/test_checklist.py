"""The referent declares a checklist item in Chromium, with a proof file, and sees it done; the
page is photographed at three widths (test-artifacts/)."""

from __future__ import annotations

from playwright.sync_api import expect

from hygie.checklist.models import Declaration
from tests.browser.flows import sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_the_referent_declares_an_item_with_a_proof(page, people, artifacts, tmp_path):
    sign_in(page, people.regine)
    expect(page.locator("#checklist-panel")).to_contain_text("Score de la check-list")
    page.get_by_role("link", name="Sécurité", exact=True).click()
    expect(page.locator("h1")).to_contain_text("check-list")
    wifi = page.locator("#item-wifi")
    expect(wifi).to_contain_text("non vérifié")
    wifi.get_by_role("link", name="Déclarer").click()
    proof = tmp_path / "box.pdf"
    proof.write_bytes(PDF)
    page.get_by_label("Fait", exact=True).check()
    page.fill("#id_note", "Box en WPA3, réseau invité pour la salle d'attente.")
    page.set_input_files("#id_proof", str(proof))
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#item-wifi")).to_contain_text("fait")
    expect(page.locator("#item-wifi")).to_contain_text("Box en WPA3")
    assert Declaration.objects.get().has_proof
    for width in (1366, 768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/securite/")
        page.screenshot(path=str(artifacts / f"checklist-{width}.png"), full_page=True)
    page.goto("/securite/declarer/?item=antivirus")
    page.set_viewport_size({"width": 390, "height": 900})
    page.screenshot(path=str(artifacts / "checklist-declare-390.png"), full_page=True)

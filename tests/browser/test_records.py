"""Emergency access and versioned notes in a real Chromium (issue 18, items 8 and 10): the search
names no one until the reason is typed; a note changed under emergency access says who changed it
and its history shows both versions. Screenshots at 1366, 768 and 390 px in test-artifacts/."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from hygie.patients import actions
from tests.browser.flows import sign_in

WIDTHS = (1366, 768, 390)
REASON = "Patiente inconsciente amenée au cabinet, médecin traitant absent"


def _shoot(page: Page, artifacts, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"records-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_emergency_access_then_a_versioned_consultation(page: Page, people, artifacts):
    from django.utils import timezone

    consultation = actions.create_consultation(
        actor=people.alice, patient=people.alice_patient, date=timezone.now(), motif="Lombalgie",
        observations="Contracture paravertébrale",
    )
    sign_in(page, people.bob)
    page.goto("/patients/acces-exceptionnel/")
    page.fill("#id_q", "moreau 17/05/1980")
    page.locator("#id_q").press("Enter")  # the keyboard is enough
    expect(page.get_by_text("Un dossier correspond.")).to_be_visible()
    assert "Jeanne" not in page.content() and "MOREAU" not in page.content()
    _shoot(page, artifacts, "break-glass-search")

    page.get_by_role("link", name="Ouvrir avec un motif").click()
    expect(page.locator("h1")).to_have_text("Accès exceptionnel : motif")
    assert "Jeanne" not in page.content()
    _shoot(page, artifacts, "break-glass-reason")
    page.fill("textarea", REASON)
    page.get_by_role("button", name="Ouvrir le dossier").click()
    expect(page.locator("h1")).to_contain_text("MOREAU Jeanne")

    page.goto(f"/patients/consultations/{consultation.public_id}/modifier/")
    page.fill("#id_observations", "Contracture paravertébrale ; revu en urgence par le Dr Lefèvre")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Modifié par Bob Lefèvre le")).to_be_visible()
    _shoot(page, artifacts, "consultation-modified")

    page.get_by_role("link", name="Historique (2 versions)").click()
    expect(page.get_by_role("heading", name="Version actuelle")).to_be_visible()
    expect(page.get_by_role("heading", name="Première version")).to_be_visible()
    _shoot(page, artifacts, "consultation-history")

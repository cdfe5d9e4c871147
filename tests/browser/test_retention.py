"""The retention pages in a real browser: strict CSP respected, keyboard-usable approval after
re-authentication, and screenshots at three widths (test-artifacts/)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from hygie.keys import service
from hygie.keys.models import PatientKey
from hygie.retention import actions
from tests.browser.flows import sign_in
from tests.factories import PASSWORD, make_consultation, make_patient

pytestmark = pytest.mark.browser

WIDTHS = (1366, 768, 390)


@pytest.fixture
def key_copy(tmp_path, settings):
    path = tmp_path / "keys" / "keys.json"
    path.parent.mkdir()
    shutil.copy(settings.KEY_FILE, path)
    settings.KEY_FILE = path
    service.reset()
    yield path
    service.reset()


def _shots(page, artifacts, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"retention-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_titulaire_reviews_and_approves_the_destruction(page, people, artifacts, key_copy):
    alice = people.alice
    due = make_patient(alice, birth_name="Ancien", first_names="Paul", birth_date=date(1950, 3, 12))
    due.declared_last_visit = date(2001, 6, 15)
    due.save()
    archived = make_patient(alice, birth_name="Archive", first_names="Lou", birth_date=date(1970, 1, 1))
    make_consultation(archived, alice, date=timezone.now() - timedelta(days=8 * 366))
    actions.refresh([due, archived, people.alice_patient])
    actions.set_hold(actor=alice, patient=archived, started_on=date(2024, 1, 1), reason="Réclamation amiable reçue")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    sign_in(page, alice)
    page.get_by_role("link", name="Conservation").click()
    expect(page.locator("h1")).to_contain_text("Conservation des dossiers")
    expect(page.locator("body")).to_contain_text("ARCHIVE Lou")
    _shots(page, artifacts, "overview")

    page.goto("/conservation/archives/")
    page.fill("#id_q", "Archive")
    page.locator("#id_q").press("Enter")
    expect(page.locator("table")).to_contain_text("ARCHIVE Lou")
    _shots(page, artifacts, "archives")
    page.get_by_role("link", name="Ouvrir avec un motif").click()
    page.fill("#id_reason", "Demande de copie par le patient")
    page.get_by_role("button", name="Ouvrir le dossier").click()
    expect(page.locator(".retention-line")).to_contain_text("Conservation suspendue")
    _shots(page, artifacts, "record-header")

    page.goto("/conservation/a-detruire/")
    expect(page.locator("table")).to_contain_text("ANCIEN Paul")
    expect(page.locator("table")).to_contain_text("RET-1")
    _shots(page, artifacts, "due")
    # Keyboard only: focus the "Tout détruire" button and press Enter.
    page.get_by_role("button", name="Tout détruire").focus()
    page.keyboard.press("Enter")
    # The password again (allauth keeps the approval and replays it once confirmed).
    page.wait_for_url("**/auth/reauthenticate/**")
    assert PatientKey.objects.filter(patient_id=due.pk).exists()
    page.fill("#id_password", PASSWORD)
    page.locator("#id_password").press("Enter")
    page.wait_for_url("**/conservation/a-detruire/")
    expect(page.locator("body")).to_contain_text("Aucun dossier à détruire")
    assert not PatientKey.objects.filter(patient_id=due.pk).exists()
    assert PatientKey.objects.filter(patient_id=archived.pk).exists()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert settings.RETENTION_AUTO_PURGE is False

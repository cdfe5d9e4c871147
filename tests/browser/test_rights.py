"""The rights pages in a real browser: a request recorded from the record with plain HTML forms,
no CSP violation, screenshots at three widths (test-artifacts/)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hygie.rights.models import RightsRequest
from tests.browser.flows import sign_in
from tests.rights.helpers import record

pytestmark = pytest.mark.browser

WIDTHS = (1366, 768, 390)


def _shots(page, artifacts, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"rights-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_titulaire_records_a_request_and_sees_its_deadline(page, people, artifacts):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    record(people.alice, people.alice_patient, "rectification", hours_ago=24 * 40)
    sign_in(page, people.alice)
    expect(page.locator("#rights-panel")).to_contain_text("en retard")
    _shots(page, artifacts, "dashboard")

    page.goto(f"/patients/{people.alice_patient.public_id}/")
    page.get_by_role("link", name="Enregistrer une demande").click()
    page.select_option("#id_right", "portabilite")
    page.fill("#id_received_at", (timezone.localtime() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#id_identity_document", "cni")
    page.fill("#id_identity_seen", "Nom, prénoms et photo concordants")
    _shots(page, artifacts, "form")
    page.get_by_role("button", name="Enregistrer la demande").click()
    expect(page.locator("h1")).to_contain_text("Portabilité")
    expect(page.locator("body")).to_contain_text("RGPD art. 12.3")
    assert RightsRequest.objects.filter(right="portabilite").count() == 1
    _shots(page, artifacts, "detail")

    page.goto("/droits/")
    expect(page.locator("table")).to_contain_text("en retard")
    _shots(page, artifacts, "register")
    assert violations == []

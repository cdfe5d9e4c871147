"""A practitioner signs in with password and authenticator app, then opens a patient."""

import re

import pytest
from playwright.sync_api import expect

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.browser.flows import sign_in

pytestmark = pytest.mark.browser


def test_it_signs_in_with_totp_and_opens_a_patient(page, people, artifacts):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    sign_in(page, people.alice)
    expect(page.locator("#last-login")).to_contain_text("Première connexion")
    page.screenshot(path=artifacts / "dashboard.png", full_page=True)

    menu = page.get_by_role("navigation", name="Navigation principale")
    menu.get_by_role("link", name="Patients", exact=True).click()
    page.wait_for_url("**/patients/")
    page.get_by_role("link", name="Moreau").first.click()
    page.wait_for_url(f"**/patients/{people.alice_patient.public_id}/")
    expect(page.locator("h1")).to_contain_text(re.compile("moreau", re.IGNORECASE))
    expect(page.locator("body")).to_contain_text("Jeanne")
    page.screenshot(path=artifacts / "patient.png", full_page=True)

    assert Event.objects.filter(action=Ev.PATIENT_VIEWED, actor=people.alice).count() == 1
    assert errors == [], "no script error, in particular no CSP violation"


def test_it_refuses_a_wrong_code(page, people, artifacts):
    page.goto("/auth/login/")
    page.screenshot(path=artifacts / "login.png", full_page=True)
    page.fill("#id_login", "alice")
    page.fill("#id_password", "Tr3s-Solide!Mot2passe")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/auth/2fa/authenticate/")
    page.fill("#id_code", "000000")
    page.locator("#id_code").press("Enter")
    expect(page.locator("main")).to_contain_text("Code incorrect")
    page.screenshot(path=artifacts / "second-step.png", full_page=True)
    # Still half-way through the login: no page beyond the second step.
    page.goto("/patients/")
    assert "/patients/" not in page.url
    expect(page.locator("h1")).to_contain_text("Authentification à deux facteurs")

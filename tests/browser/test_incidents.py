"""« Isoler Hygie » in a real browser: a titulaire's open session is cut by the referent's switch,
a new login is refused, an export is refused, the lift (at the machine) restores everything, and
the journal verifies after. Screenshots of the incident page at three widths (test-artifacts/)."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from hygie.audit.verify import verify
from tests.accounts.flows import TOTP_PERIOD
from tests.browser.flows import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

WIDTHS = (1366, 768, 390)


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path):
    # The checkpoint file outlives the test database: each test its own (see tests/audit/conftest.py).
    settings.JOURNAL_CHECKPOINT_FILE = str(tmp_path / "journal-checkpoints.jsonl")


def test_the_switch_cuts_sessions_refuses_logins_and_exports_and_lift_restores(browser, live_server, people,
                                                                                 artifacts):
    from hygie.practices.models import Practice

    Practice.objects.create(name="Cabinet des Lilas")
    errors: list[str] = []

    def context():
        ctx = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 1280, "height": 800})
        p = ctx.new_page()
        p.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        return ctx, p

    alice_ctx, alice = context()
    regine_ctx, regine = context()
    sign_in(alice, people.alice)
    export_url = reverse("patient_access_report_pdf", kwargs={"public_id": people.alice_patient.public_id})
    sign_in(regine, people.regine)
    regine.get_by_role("link", name="Incidents").click()
    for width in WIDTHS:
        regine.set_viewport_size({"width": width, "height": 900})
        regine.screenshot(path=artifacts / f"incidents-home-{width}.png", full_page=True)
    regine.set_viewport_size({"width": 1280, "height": 800})
    regine.fill("#id_reason", "Rançongiciel sur le poste de l'accueil")
    regine.locator("#isolate").click()
    expect(regine.locator("#lockdown-banner")).to_contain_text("Hygie est isolé")

    # alice's open session is gone: her next click lands on the login page, which says why.
    alice.goto("/patients/")
    expect(alice.locator("#lockdown-banner")).to_contain_text("Hygie est isolé")
    expect(alice.locator("h1")).to_have_text("Connexion")
    alice.screenshot(path=artifacts / "incidents-login-locked-1366.png", full_page=True)
    # A new login is refused.
    alice.fill("#id_login", "alice")
    alice.fill("#id_password", PASSWORD)
    alice.get_by_role("button", name="Se connecter").click()
    expect(alice.locator("form")).to_contain_text("les connexions sont suspendues")
    # An export is refused (no session, no file).
    response = alice.request.get(export_url, max_redirects=0)
    assert response.status in (302, 423) and "pdf" not in response.headers.get("content-type", "")

    # The administrator at the machine lifts it.
    call_command("incident", "lift", stdout=io.StringIO())
    # Each TOTP code works once: alice's second login waits for the next time step.
    time.sleep(TOTP_PERIOD - time.time() % TOTP_PERIOD + 0.1)
    sign_in(alice, people.alice)
    response = alice.request.get(export_url)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert verify().ok
    assert errors == []
    alice_ctx.close()
    regine_ctx.close()

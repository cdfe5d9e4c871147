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
from tests.accounts.flows import TOTP_PERIOD, fresh_totp_code, totp_secret
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


def _shots(page, artifacts, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"incidents-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_the_admin_lifts_in_the_browser_after_re_authenticating_with_the_referent_confirming(
        page, people, artifacts):
    from hygie.incidents.models import Lockdown
    from hygie.practices.models import Practice

    Practice.objects.create(name="Cabinet des Lilas")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    call_command("incident", "lockdown", "--reason", "Compte compromis", "--allow", "adam", stdout=io.StringIO())

    # The admin allowed at the machine signs in; the incident page is all he reaches.
    page.goto("/auth/login/")
    page.fill("#id_login", "adam")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/auth/2fa/authenticate/")
    page.fill("#id_code", fresh_totp_code(totp_secret(people.adam)))
    page.locator("#id_code").press("Enter")
    page.wait_for_url("**/incidents/")
    expect(page.locator("#switch-title")).to_have_text("Hygie est isolé")
    _shots(page, artifacts, "locked")

    # A wrong confirmation changes nothing.
    page.fill("#id_confirmer", "regine")
    page.fill("#id_confirmer_password", "pas le bon")
    page.fill("#id_confirmer_code", "000000")
    page.locator("#lift").click()
    page.wait_for_url("**/auth/reauthenticate/**")
    page.fill("#id_password", PASSWORD)
    page.locator("#id_password").press("Enter")
    page.wait_for_url("**/incidents/")
    expect(page.locator("body")).to_contain_text("Confirmation refusée")
    assert Lockdown.objects.get().lifted_at is None

    # The referent, at the admin's side, confirms with her password and her current code; the
    # admin re-authenticated a moment ago (allauth asks again after 5 minutes).
    page.fill("#id_confirmer", "regine")
    page.fill("#id_confirmer_password", PASSWORD)
    page.fill("#id_confirmer_code", fresh_totp_code(totp_secret(people.regine)))
    page.keyboard.press("Tab")
    page.locator("#lift").press("Enter")
    expect(page.locator("h1")).to_have_text("Connexion")
    expect(page.locator("body")).to_contain_text("Isolement levé")
    expect(page.locator("#lockdown-banner")).to_have_count(0)
    row = Lockdown.objects.get()
    assert (row.lifted_by, row.confirmed_by) == (people.adam, people.regine)
    # The crisis session ended with the crisis; everyone may sign in again.
    page.goto("/incidents/")
    expect(page.locator("h1")).to_have_text("Connexion")
    sign_in(page, people.alice)
    assert verify().ok
    assert errors == []


def test_an_exercise_simulates_the_switch_in_the_browser(page, people, artifacts):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, people.regine)
    page.get_by_role("link", name="Incidents").click()
    page.get_by_role("button", name="Commencer un exercice").click()
    expect(page.locator("h1")).to_contain_text("EXERCICE")
    page.get_by_role("button", name="Simuler « Isoler Hygie » (EXERCICE)").click()
    expect(page.locator("#drill-steps")).to_contain_text("Fermer toutes les sessions")
    expect(page.locator("#drill")).to_contain_text("EXERCICE — isolement simulé le")
    expect(page.locator("#lockdown-banner")).to_have_count(0)
    _shots(page, artifacts, "exercise")
    page.locator("#drill-lift").click()
    expect(page.locator("#drill-steps")).to_contain_text("Rétablir le service")
    # Nobody was locked out: the referent still works, and so would anyone else.
    page.goto("/")
    expect(page.locator("h1")).to_contain_text("Bonjour")
    page.goto("/incidents/contacts/")
    _shots(page, artifacts, "contacts")
    assert verify().ok
    assert errors == []

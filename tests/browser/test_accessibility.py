"""axe-core (WCAG 2.1 AA) on the main pages of every role, the login and allauth pages: no
serious or critical violation. Each page is also photographed at 1366, 768 and 390 px (in
test-artifacts/) and must not overflow sideways."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.flows import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

WIDTHS = (1366, 768, 390)
# The main pages a role reaches from its menu (the record page and the agenda/billing pages are
# checked by their own engineers' tests).
PAGES = {
    "alice": ["dashboard", "patient_list", "grant_list", "checklist", "retention", "rights", "my_account"],
    "remi": ["dashboard", "patient_list", "checklist", "my_account"],
    "sophie": ["dashboard", "patient_list", "checklist"],
    "fabien": ["dashboard", "checklist"],
    "regine": ["dashboard", "journal", "alert_list", "checklist", "incidents", "retention", "rights",
               "compliance", "grant_list"],
    "adam": ["dashboard", "user_list", "backups", "checklist", "incidents", "compliance", "psc_admin", "journal"],
}


def _check(page, artifacts, name: str) -> None:
    assert "Page introuvable" not in page.locator("h1").first.inner_text(), page.url
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"a11y-{name}-{width}.png", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (page.url, width, overflow)
    page.set_viewport_size({"width": 1366, "height": 900})
    assert_accessible(page)


@pytest.mark.parametrize("who", list(PAGES))
def test_every_main_page_of_every_role_passes_axe(page, people, artifacts, who):
    user = getattr(people, who)
    sign_in(page, user)
    for name in PAGES[who]:
        page.goto(reverse(name))
        assert page.url.rstrip("/").endswith(reverse(name).rstrip("/")), (name, page.url)
        _check(page, artifacts, f"{who}-{name}")


def test_the_login_and_allauth_pages_pass_axe(page, people, artifacts):
    page.goto("/auth/login/")
    _check(page, artifacts, "login")
    sign_in(page, people.alice)
    for url, name in (
        ("/auth/password/change/", "password-change"),
        ("/auth/2fa/", "mfa-index"),
        ("/auth/reauthenticate/", "reauthenticate"),
    ):
        page.goto(url)
        _check(page, artifacts, name)
    # Behind the password check: new recovery codes (then their page, « Continuer »), a key.
    page.goto("/auth/2fa/recovery-codes/generate/")
    page.wait_for_url("**/auth/reauthenticate/**")
    _check(page, artifacts, "reauthenticate-before-codes")
    page.fill("#id_password", PASSWORD)
    page.locator("#id_password").press("Enter")
    page.wait_for_url("**/auth/2fa/recovery-codes/generate/")
    _check(page, artifacts, "recovery-codes-generate")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url("**/auth/2fa/recovery-codes/")
    expect(page.get_by_role("link", name="Continuer")).to_be_visible()
    _check(page, artifacts, "recovery-codes")
    page.goto("/auth/2fa/webauthn/add/")
    _check(page, artifacts, "webauthn-add")

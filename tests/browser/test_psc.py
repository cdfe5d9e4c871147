"""Chromium through the whole Pro Santé Connect round trip, against the local provider."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.psc import actions
from tests.browser.flows import sign_in
from tests.psc.fixtures import psc_op, psc_settings  # noqa: F401 (fixtures: the local PSC provider)

pytestmark = pytest.mark.browser


def _psc_step(page, national_id: str) -> None:
    page.goto("/auth/login/")
    page.get_by_role("button", name="Se connecter avec Pro Santé Connect").click()
    page.wait_for_url(re.compile(r"/auth/realms/esante-wallet/interaction/"))
    page.fill("#identity", national_id)
    page.get_by_role("button", name="Valider sur mon e-CPS").click()


def test_a_linked_practitioner_logs_in_with_psc_without_totp(page, people, psc_settings, artifacts):  # noqa: F811
    actions.apply_link(actor=people.adam, user=people.alice, national_id="899700000011", psc_only=False)
    for width in (1366, 768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/auth/login/")
        page.screenshot(path=artifacts / f"psc-login-{width}.png", full_page=True)
    _psc_step(page, "899700000011")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("h1")).to_contain_text("Bonjour")
    assert "/2fa/" not in page.url
    assert Event.objects.filter(action=Ev.LOGIN_SUCCEEDED, details__channel="psc").count() == 1


def test_an_unknown_professional_sees_the_french_page(page, people, psc_settings, artifacts):  # noqa: F811
    _psc_step(page, "899700000033")
    expect(page.locator("#psc-unknown")).to_contain_text("Demandez à l'administrateur du cabinet")
    page.screenshot(path=artifacts / "psc-unknown.png", full_page=True)
    # The administrator sees who it was, to confirm before linking.
    page.context.clear_cookies()
    sign_in(page, people.adam)
    page.goto("/pro-sante-connect/")
    page.get_by_role("link", name="Relier à un compte").click()
    expect(page.locator("#psc-chosen")).to_contain_text("Inès INCONNUE")
    expect(page.locator("#psc-chosen")).to_contain_text("Infirmier")
    for width in (1366, 768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"psc-admin-{width}.png", full_page=True)

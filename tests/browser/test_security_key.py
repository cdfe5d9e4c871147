"""A security key (WebAuthn) with Chromium's virtual authenticator (CDP WebAuthn domain): added
on http://localhost, used at the next login. On an IP address the browser refuses WebAuthn
(« invalid domain »): the page says so, and a refused attempt shows a French message instead of
doing nothing visible. No mock: a real browser, a real (virtual) CTAP2 authenticator."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from tests.browser.flows import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True,
    }})


def _add_key(page) -> None:
    page.goto("/auth/2fa/webauthn/add/")
    page.wait_for_url("**/auth/reauthenticate/**")
    page.fill("#id_password", PASSWORD)
    page.locator("#id_password").press("Enter")
    page.wait_for_url("**/auth/2fa/webauthn/add/")
    expect(page.get_by_label("Nom de la clé de sécurité")).to_be_visible()
    page.get_by_label("Nom de la clé de sécurité").fill("Clé USB bleue")
    page.get_by_role("button", name="Ajouter").click()
    page.wait_for_url(re.compile(r"/auth/2fa/(?!webauthn/add/)"))


def test_it_adds_a_security_key_on_localhost_and_signs_in_with_it(page, people, artifacts):
    sign_in(page, people.alice)
    assert page.url.startswith("http://localhost:")
    _virtual_authenticator(page)
    _add_key(page)
    key = Authenticator.objects.get(user=people.alice, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Clé USB bleue"

    page.get_by_role("button", name="Se déconnecter").click()
    page.goto("/auth/login/")
    page.fill("#id_login", "alice")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url("**/auth/2fa/authenticate/")
    page.screenshot(path=artifacts / "security-key-login.png", full_page=True)
    expect(page.locator("body")).not_to_contain_text("clé secrète")
    page.get_by_role("button", name="Utiliser une clé de sécurité").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("h1")).to_contain_text("Bonjour")


def test_it_offers_no_security_key_to_an_account_without_one(page, people):
    page.goto("/auth/login/")
    page.fill("#id_login", "alice")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url("**/auth/2fa/authenticate/")
    expect(page.get_by_role("button", name="Utiliser une clé de sécurité")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("clé secrète")


def test_it_explains_instead_of_failing_silently_on_an_ip_address(browser, live_server, people, artifacts):
    by_ip = live_server.url.replace("localhost", "127.0.0.1")
    context = browser.new_context(base_url=by_ip, locale="fr-FR")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, people.alice)
        _virtual_authenticator(page)
        page.goto("/auth/2fa/webauthn/add/")
        page.fill("#id_password", PASSWORD)
        page.locator("#id_password").press("Enter")
        page.wait_for_url("**/auth/2fa/webauthn/add/")
        expect(page.locator("#webauthn-host")).to_contain_text("http://localhost:")
        page.get_by_role("button", name="Ajouter").click()
        expect(page.locator("#webauthn-error")).to_be_visible()
        expect(page.locator("#webauthn-error")).to_contain_text("adresse IP")
        page.screenshot(path=artifacts / "security-key-ip.png", full_page=True)
        assert not Authenticator.objects.filter(user=people.alice, type=Authenticator.Type.WEBAUTHN).exists()
    finally:
        context.close()

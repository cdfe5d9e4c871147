"""Browser steps shared by the scenarios."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.accounts.flows import fresh_totp_code, totp_secret
from tests.factories import PASSWORD


def sign_in(page: Page, user: Any, password: str = PASSWORD) -> None:
    """Username and password, then the code of the authenticator app; ends on the dashboard."""
    page.goto("/auth/login/")
    page.fill("#id_login", user.username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url("**/auth/2fa/authenticate/")
    page.fill("#id_code", fresh_totp_code(totp_secret(user)))
    page.locator("#id_code").press("Enter")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("h1")).to_contain_text("Bonjour")


def expect_locked(page: Page) -> None:
    page.wait_for_url(re.compile(r"/session/verrouillee/(\?next=[^&]*)?$"))
    expect(page.locator("h1")).to_have_text("Session verrouillée")


def unlock(page: Page, password: str = PASSWORD) -> None:
    page.locator("#unlock").click()
    page.wait_for_url("**/auth/reauthenticate/**")
    page.fill("#id_password", password)
    page.locator("#id_password").press("Enter")
    page.wait_for_url(re.compile(r"/$"))

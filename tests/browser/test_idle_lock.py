"""The page locks itself after the idle delay, and "lock now" (Alt+Shift+L) locks at once."""

import re

import pytest
from playwright.sync_api import expect

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.browser.flows import expect_locked, sign_in, unlock

pytestmark = pytest.mark.browser


def _patient_url(people) -> str:
    return f"/patients/{people.alice_patient.public_id}/"


def test_it_locks_an_idle_page_and_the_server_keeps_it_locked(page, people, settings, artifacts):
    settings.IDLE_LOCK_MINUTES = 1
    page.clock.install()  # the page's clock is ours to move
    sign_in(page, people.alice)
    page.goto(_patient_url(people))
    expect(page.locator("h1")).to_contain_text(re.compile("moreau", re.IGNORECASE))
    assert page.locator("body").get_attribute("data-idle-seconds") == "60"

    # A minute without touching mouse or keyboard.
    page.clock.fast_forward("01:05")

    expect_locked(page)
    expect(page.locator("body")).not_to_contain_text(re.compile("moreau", re.IGNORECASE))
    page.screenshot(path=artifacts / "locked.png", full_page=True)

    # Typing the patient's address is not enough: the server refuses until re-authentication.
    page.goto(_patient_url(people))
    expect_locked(page)

    page.locator("#unlock").click()
    page.wait_for_url("**/auth/reauthenticate/**")
    page.screenshot(path=artifacts / "reauthenticate.png", full_page=True)
    page.go_back()
    unlock(page)
    page.goto(_patient_url(people))
    expect(page.locator("h1")).to_contain_text(re.compile("moreau", re.IGNORECASE))
    assert Event.objects.filter(action=Ev.SESSION_UNLOCKED, actor=people.alice).count() == 1


def test_it_hides_the_data_at_once_when_locking(page, people):
    sign_in(page, people.alice)
    page.goto(_patient_url(people))
    # Hold the lock request: the page must hide the data without waiting for the server.
    page.route("**/session/verrouiller/", lambda route: None)
    page.keyboard.press("Alt+Shift+L")
    expect(page.locator("main")).to_be_hidden()
    expect(page.locator("#lock-screen")).to_be_visible()


def test_it_locks_now_with_the_keyboard_shortcut(page, people):
    sign_in(page, people.alice)
    page.goto(_patient_url(people))

    page.keyboard.press("Alt+Shift+L")

    expect_locked(page)
    assert Event.objects.filter(action=Ev.SESSION_LOCKED, actor=people.alice).count() == 1
    page.goto(_patient_url(people))
    expect_locked(page)


def test_it_locks_now_with_the_button(page, people):
    sign_in(page, people.alice)
    page.get_by_role("button", name="Verrouiller").click()
    expect_locked(page)
    page.goto("/patients/")
    expect_locked(page)


def test_the_unlock_returns_to_the_page_left(page, people, settings, artifacts):
    settings.IDLE_LOCK_MINUTES = 1
    page.clock.install()
    sign_in(page, people.alice)
    page.goto(_patient_url(people))

    page.clock.fast_forward("01:05")
    expect_locked(page)
    unlock(page)

    # Back on the record the user was reading, not on the dashboard.
    page.wait_for_url(f"**{_patient_url(people)}")
    expect(page.locator("h1")).to_contain_text(re.compile("moreau", re.IGNORECASE))


def test_the_unlock_after_lock_now_returns_to_the_page_too(page, people):
    sign_in(page, people.alice)
    page.goto("/patients/")
    page.keyboard.press("Alt+Shift+L")
    expect_locked(page)
    unlock(page)
    page.wait_for_url("**/patients/")
    expect(page.locator("h1")).not_to_contain_text("Bonjour")

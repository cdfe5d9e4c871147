"""Patient search in Chromium: Back after a search shows the results again (no « Confirmer le
renvoi du formulaire »), the header box answers as one types and is usable with the keyboard
alone, and nothing overflows at 1366, 768 or 390 px."""

import pytest
from playwright.sync_api import expect

from tests.browser.flows import sign_in

pytestmark = pytest.mark.browser


def test_it_goes_back_to_the_results_after_opening_a_patient(page, people, artifacts):
    sign_in(page, people.alice)
    page.goto("/patients/")
    page.get_by_role("search", name="Rechercher un patient").get_by_role("searchbox").fill("moreau 1980")
    page.get_by_role("search", name="Rechercher un patient").get_by_role("button", name="Rechercher").click()
    page.wait_for_url("**/patients/recherche/*/")
    assert "moreau" not in page.url.lower()
    page.get_by_role("link", name="MOREAU Jeanne").click()
    page.wait_for_url(f"**/patients/{people.alice_patient.public_id}/")
    page.go_back()
    page.wait_for_url("**/patients/recherche/*/")
    expect(page.get_by_role("link", name="MOREAU Jeanne")).to_be_visible()
    page.reload()
    expect(page.get_by_role("link", name="MOREAU Jeanne")).to_be_visible()


def test_it_searches_from_the_header_with_the_keyboard_only(page, people, artifacts):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, people.alice)
    page.locator("body").focus()
    # Tab from the top of the page to the header's search box.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "quick-search-q":
            break
    assert page.evaluate("document.activeElement.id") == "quick-search-q"
    page.keyboard.type("mor")
    expect(page.locator("#quick-search-results")).to_contain_text("MOREAU Jeanne (1980)")
    page.screenshot(path=artifacts / "quick-search.png")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent") == "MOREAU Jeanne (1980)"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/patients/{people.alice_patient.public_id}/")
    assert errors == [], "no script error, in particular no CSP violation"


@pytest.mark.parametrize("width", [1366, 768, 390])
def test_it_overflows_nowhere(page, people, artifacts, width):
    sign_in(page, people.regine)
    page.set_viewport_size({"width": width, "height": 900})
    for url, name in (("/", "dashboard"), ("/journal/", "journal"), ("/journal/alertes/", "alerts")):
        page.goto(url)
        page.screenshot(path=artifacts / f"{name}-{width}.png", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (url, width, overflow)
        # No template comment or other stray source text leaks into the page.
        assert "{#" not in page.content() and "#}" not in page.content()

"""The week agenda booked with the mouse and with the keyboard alone, the billing export
downloaded, and axe-core (WCAG 2.1 AA) on the agenda and billing pages of every role that has
them. Screenshots at 1366, 768 and 390 px go to test-artifacts/."""

import csv
import io
import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hygie.agenda.models import Appointment
from hygie.lib.agendagrid import week_of
from tests.browser.axe import assert_accessible
from tests.browser.flows import sign_in
from tests.factories import make_appointment, make_care_sheet

pytestmark = pytest.mark.browser


def _wednesday():
    return week_of(timezone.localdate() + timedelta(days=14))[2]


def _no_horizontal_overflow(page):
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_it_books_a_slot_of_the_week_with_the_patient_picker(page, people, artifacts):
    day = _wednesday()
    make_appointment(
        people.alice_patient, people.alice, reason="Suivi",
        start=timezone.make_aware(datetime.combine(day, time(9, 0))),
    )
    sign_in(page, people.alice)
    page.goto(f"/agenda/?jour={day.isoformat()}")
    expect(page.locator("h1")).to_contain_text("semaine du")
    expect(page.get_by_role("link", name="MOREAU Jeanne")).to_have_attribute(
        "href", f"/patients/{people.alice_patient.public_id}/"
    )
    assert_accessible(page)
    for width in (1366, 768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        _no_horizontal_overflow(page)
        page.screenshot(path=str(artifacts / f"agenda-week-{width}.png"), full_page=False)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.locator(f'a.book[href*="jour={day.isoformat()}&heure=10%3A40"]').click()
    expect(page.locator("h1")).to_have_text("Nouveau rendez-vous")
    expect(page.locator("#id_time")).to_have_value("10:40")
    page.wait_for_load_state()  # static/agenda/agenda.js has run
    page.fill("#id_patient_q", "moreau")
    radio = page.locator(f'input[name=patient][value="{people.alice_patient.public_id}"]')
    expect(radio).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "agenda-booking-1280.png"), full_page=True)
    radio.check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".message.success")).to_contain_text("Rendez-vous enregistré")
    appt = Appointment.objects.get(start=timezone.make_aware(datetime.combine(day, time(10, 40))))
    assert appt.patient == people.alice_patient and appt.practitioner == people.alice


def test_it_books_with_the_keyboard_alone(page, people):
    day = _wednesday()
    sign_in(page, people.sophie)
    page.goto(f"/agenda/?jour={day.isoformat()}")
    target = page.locator(f'a.book[href*="jour={day.isoformat()}&heure=08%3A00"]')
    for _ in range(200):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Le créneau n'a pas été atteint au clavier.")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Nouveau rendez-vous")
    page.wait_for_load_state()  # static/agenda/agenda.js has run
    page.locator("#id_patient_q").focus()
    page.keyboard.type("jeanne")
    page.keyboard.press("Enter")  # searches, does not submit the form
    radio = page.locator(f'input[name=patient][value="{people.alice_patient.public_id}"]')
    expect(radio).to_be_visible()
    radio.focus()
    page.keyboard.press("Space")
    expect(radio).to_be_checked()
    page.locator("#id_reason").focus()
    page.keyboard.type("Suivi")
    page.keyboard.press("Enter")
    expect(page.locator(".message.success")).to_contain_text("Rendez-vous enregistré")
    assert Appointment.objects.get().patient == people.alice_patient


def test_the_picker_works_without_javascript(browser, live_server, people):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/auth/login/")
        from tests.accounts.flows import fresh_totp_code, totp_secret
        from tests.factories import PASSWORD

        page.fill("#id_login", people.sophie.username)
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Se connecter", exact=True).click()
        page.fill("#id_code", fresh_totp_code(totp_secret(people.sophie)))
        page.locator("#id_code").press("Enter")
        page.wait_for_url(re.compile(r"/$"))
        day = _wednesday()
        page.goto(f"/agenda/nouveau/?jour={day.isoformat()}&heure=11:00")
        page.fill("#id_patient_q", "Moreau")
        page.get_by_role("button", name="Chercher", exact=True).click()
        page.locator(f'input[name=patient][value="{people.alice_patient.public_id}"]').check()
        page.get_by_role("button", name="Enregistrer").click()
        expect(page.locator(".message.success")).to_contain_text("Rendez-vous enregistré")
        assert Appointment.objects.get().patient == people.alice_patient
    finally:
        context.close()


def test_the_secretary_sees_her_practitioners_side_by_side(page, people, artifacts):
    people.sophie.assists.add(people.bob)
    day = _wednesday()
    sign_in(page, people.sophie)
    page.goto(f"/agenda/?jour={day.isoformat()}")
    head = page.locator("table.agenda-grid thead")
    expect(head).to_contain_text(people.alice.display_name)
    expect(head).to_contain_text(people.bob.display_name)
    assert_accessible(page)
    for width in (1366, 768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        _no_horizontal_overflow(page)
        page.screenshot(path=str(artifacts / f"agenda-day-{width}.png"))


@pytest.mark.parametrize("who", ["alice", "remi", "sophie"])
def test_the_agenda_pages_are_accessible_to_every_role(page, people, who):
    make_appointment(people.alice_patient, people.alice, start=timezone.make_aware(
        datetime.combine(_wednesday(), time(9, 0))))
    sign_in(page, getattr(people, who))
    page.goto(f"/agenda/?jour={_wednesday().isoformat()}")
    assert_accessible(page)
    page.goto(f"/agenda/nouveau/?jour={(timezone.localdate() - timedelta(days=3)).isoformat()}")
    expect(page.locator("#past-warning")).to_be_visible()
    assert_accessible(page)


@pytest.mark.parametrize("who", ["alice", "remi", "fabien"])
def test_the_billing_pages_are_accessible_to_every_role(page, people, who, artifacts):
    make_care_sheet(people.alice_patient, people.alice, amount=Decimal("1890.00"))
    make_care_sheet(people.alice_patient, people.alice, amount=Decimal("25.00"), paid=True)
    sign_in(page, getattr(people, who))
    page.goto("/facturation/")
    expect(page.locator("#total")).to_contain_text("1\u202f915,00\u00a0€")
    assert_accessible(page)
    for width in (1366, 768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        _no_horizontal_overflow(page)
        page.screenshot(path=str(artifacts / f"billing-{who}-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})
    for url in ("/facturation/nouvelle/", "/facturation/actes-habituels/"):
        page.goto(url)
        assert_accessible(page)


def test_the_billing_clerk_downloads_the_export(page, people):
    make_care_sheet(people.alice_patient, people.alice, amount=Decimal("1890.00"))
    sign_in(page, people.fabien)
    page.goto("/facturation/")
    expect(page.locator("body")).not_to_contain_text("MOREAU")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export pour le comptable (CSV)").click()
    download = info.value
    assert download.suggested_filename.startswith("hygie-facturation")
    text = open(download.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[1][3] == people.alice_patient.code and rows[1][4] == "1890,00"
    assert "MOREAU" not in text.upper()

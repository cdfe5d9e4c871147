"""The record in Chromium (issue 17): a draft survives the idle lock, the banner and sections,
keyboard use, axe-core with no serious or critical violation, screenshots at three widths."""

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hygie.clinical import actions as clinical_actions
from hygie.clinical.models import ConsultationDraft
from tests.browser.axe import violations
from tests.browser.flows import expect_locked, sign_in, unlock
from tests.factories import make_consultation

pytestmark = pytest.mark.browser

WIDTHS = (1366, 768, 390)


def _record(people) -> str:
    return f"/patients/{people.alice_patient.public_id}/"


def test_a_half_typed_consultation_survives_the_idle_lock(page, people, settings, artifacts):
    settings.IDLE_LOCK_MINUTES = 1
    page.clock.install()
    sign_in(page, people.alice)
    form_url = f"/patients/{people.alice_patient.public_id}/consultations/nouvelle/"
    page.goto(form_url)
    page.fill("#id_motif", "Douleur abdominale")
    page.fill("#id_observations", "Depuis trois jours, sans fièvre.")
    page.fill("#id_weight_kg", "68,5")
    # A minute without touching anything: the page saves the draft, then locks.
    page.clock.fast_forward("01:05")
    expect_locked(page)
    expect(page.locator("body")).not_to_contain_text("Douleur abdominale")
    assert ConsultationDraft.objects.filter(author=people.alice).count() == 1
    # Nothing in the browser's storage.
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    unlock(page)
    # Back on the form, the draft filled in again.
    assert page.url.endswith(form_url)
    expect(page.locator("#id_motif")).to_have_value("Douleur abdominale")
    expect(page.locator("#id_observations")).to_have_value("Depuis trois jours, sans fièvre.")
    expect(page.locator("#id_weight_kg")).to_have_value("68,5")
    expect(page.locator(".draft-notice")).to_contain_text("Brouillon du")
    page.screenshot(path=artifacts / "record-draft-resumed.png", full_page=True)

    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Consultation")
    assert not ConsultationDraft.objects.exists()


def _fill_record(people):
    patient = people.alice_patient
    for days, weight, sys in ((90, "82", "150"), (45, "80", "142"), (2, "78,5", "134")):
        make_consultation(patient, people.alice, date=timezone.now() - timedelta(days=days),
                          motif="Suivi HTA", weight_kg=D(weight.replace(",", ".")), height_cm=D("176"),
                          systolic=D(sys), diastolic=D("85"), pulse=D("72"))
    clinical_actions.add_item(actor=people.alice, patient=patient, kind="allergie", label="Pénicilline",
                              detail="œdème de Quincke")
    clinical_actions.add_item(actor=people.alice, patient=patient, kind="traitement", label="Amlodipine 5 mg",
                              detail="1 cp le soir")
    clinical_actions.add_item(actor=people.alice, patient=patient, kind="alerte", label="Diabète de type 2")


def test_the_record_page_reads_well_at_three_widths_and_passes_axe(page, people, artifacts):
    _fill_record(people)
    sign_in(page, people.alice)
    page.goto(_record(people))
    banner = page.locator(".patient-banner")
    for text in ("Pénicilline", "Amlodipine 5 mg", "Diabète de type 2", people.alice_patient.code, "ans"):
        expect(banner).to_contain_text(text)
    expect(page.locator("#constantes svg")).to_have_count(4)  # weight, BMI, blood pressure, pulse
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"record-{width}.png", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{width}px: the page scrolls sideways by {overflow}px"
    page.set_viewport_size({"width": 1366, "height": 900})
    assert violations(page) == []

    page.goto(f"/patients/{people.alice_patient.public_id}/consultations/nouvelle/")
    assert violations(page) == []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"consultation-form-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/dossier/{people.alice_patient.public_id}/courrier/")
    assert violations(page) == []
    page.screenshot(path=artifacts / "letter-1366.png", full_page=True)


def test_the_record_works_with_the_keyboard_alone(page, people):
    sign_in(page, people.alice)
    page.goto(_record(people))
    # Open "Ajouter une allergie" and fill it with the keyboard only.
    summary = page.locator("details.add-item summary").first
    summary.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("Aspirine")
    page.keyboard.press("Tab")
    page.keyboard.type("bronchospasme")
    page.keyboard.press("Enter")
    expect(page.locator(".patient-banner")).to_contain_text("Aspirine")
    # The section links move the focus target into view.
    page.get_by_role("link", name="Consultations", exact=True).last.focus()
    page.keyboard.press("Enter")
    assert page.url.endswith("#consultations")


def test_a_document_opens_in_the_browser(page, people, artifacts):
    import io

    from hygie.patients import actions as patient_actions

    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
           b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
           b"\xaeB`\x82")
    document = patient_actions.upload_document(actor=people.alice, patient=people.alice_patient,
                                               title="Radio", kind="resultat", fileobj=io.BytesIO(png))
    sign_in(page, people.alice)
    page.goto(_record(people))
    with page.context.expect_page() as new:
        page.get_by_role("link", name=re.compile("^Ouvrir")).click()
    viewer = new.value
    viewer.wait_for_load_state()
    assert viewer.url.endswith(f"/dossier/documents/{document.public_id}/voir/")
    # Shown, not downloaded: Chromium displays the image itself.
    assert viewer.evaluate("document.images.length") == 1
    assert viewer.evaluate("document.images[0].naturalWidth") == 1

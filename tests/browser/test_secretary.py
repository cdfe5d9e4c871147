"""A secretary sees the identity of her practitioner's patients, never their consultations."""

import re

import pytest
from playwright.sync_api import expect

from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from tests.browser.flows import sign_in
from tests.factories import make_consultation

pytestmark = pytest.mark.browser


def test_it_refuses_a_consultation_to_the_secretary(page, people):
    consultation = make_consultation(people.alice_patient, people.alice, observations="Douleur lombaire")
    sign_in(page, people.sophie)

    page.goto(f"/patients/{people.alice_patient.public_id}/")
    expect(page.locator("h1")).to_contain_text(re.compile("moreau", re.IGNORECASE))
    expect(page.locator("body")).to_contain_text("Jeanne")
    expect(page.locator("body")).not_to_contain_text("Douleur lombaire")

    response = page.goto(f"/patients/consultations/{consultation.public_id}/")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Accès refusé")
    expect(page.locator("body")).not_to_contain_text("Douleur lombaire")
    assert not Event.objects.filter(action=Ev.CONSULTATION_VIEWED, outcome=Outcome.SUCCESS).exists()

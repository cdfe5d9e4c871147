"""« Déverrouiller avec Pro Santé Connect »: an idle-locked session of a PSC-linked account is
unlocked by a fresh PSC authentication of the same professional (SubjectNameID) only. Another
professional is refused and journaled, the session stays locked and nobody takes it over.
Against the real local OpenID Connect provider (tests/oidc)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hygie.accounts import session
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from hygie.psc import actions
from tests.psc import flows

pytestmark = pytest.mark.django_db(transaction=True)

ALICE_ID = "899700000011"
REMI_ID = "899700000022"
UNKNOWN_ID = "899700000033"


def _locked_alice(client, personas):
    actions.apply_link(actor=personas.adam, user=personas.alice, national_id=ALICE_ID, psc_only=False)
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    client.post(reverse("session_lock_now"), {"next": "/patients/"})
    assert client.get("/patients/").status_code == 302  # locked
    return client


def _unlock_with(client, national_id: str):
    start = client.post(reverse("psc_login"), {"next": "/patients/"})
    assert start.status_code == 302, start.status_code
    callback = flows.authenticate_at_psc(str(start["Location"]), national_id)
    return client.get(callback)


def test_the_lock_page_offers_psc_to_a_linked_account_only(client, personas, psc_settings):
    client.force_login(personas.bob, backend="hygie.accounts.backends.HygieBackend")
    client.post(reverse("session_lock_now"))
    assert "Déverrouiller avec Pro Santé Connect" not in client.get(reverse("session_locked")).content.decode()
    _locked_alice(client, personas)
    page = client.get(reverse("session_locked") + "?next=/patients/").content.decode()
    assert "Déverrouiller avec Pro Santé Connect" in page
    assert 'name="next" value="/patients/"' in page


def test_the_same_professional_unlocks_and_returns_to_the_page(client, personas, psc_settings):
    _locked_alice(client, personas)
    response = _unlock_with(client, ALICE_ID)
    assert response.status_code == 302 and response["Location"] == "/patients/"
    page = client.get("/patients/")
    assert page.status_code == 200 and page.wsgi_request.user == personas.alice
    assert session.locked_at(page.wsgi_request) is None
    event = Event.objects.filter(action=Ev.SESSION_UNLOCKED, actor=personas.alice).latest("id")
    assert event.details == {"channel": "psc", "acr": "eidas1"}


@pytest.mark.parametrize("other", [REMI_ID, UNKNOWN_ID])
def test_another_professional_is_refused_journaled_and_the_session_stays_locked(client, personas, psc_settings, other):
    if other == REMI_ID:
        actions.apply_link(actor=personas.adam, user=personas.remi, national_id=REMI_ID, psc_only=False)
    _locked_alice(client, personas)
    response = _unlock_with(client, other)
    assert response.status_code == 403
    assert "reste verrouillée" in response.content.decode()
    # Still alice's session, still locked: nobody was logged in in her place.
    follow = client.get("/patients/")
    assert follow.status_code == 302 and follow["Location"].startswith(reverse("session_locked"))
    assert follow.wsgi_request.user == personas.alice
    refused = Event.objects.get(action=Ev.PSC_UNLOCK_REFUSED)
    assert refused.actor == personas.alice and refused.outcome == Outcome.DENIED
    assert refused.details["linked"] is (other == REMI_ID)
    assert not Event.objects.filter(action=Ev.SESSION_UNLOCKED).exists()
    assert not Event.objects.filter(action=Ev.LOGIN_SUCCEEDED, actor=personas.remi).exists()

"""The journal viewer (referent, administrator): filters, pseudonymous codes, integrity check."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from hygie.audit import chain, checkpoint
from hygie.audit.events import Ev
from hygie.audit.models import Alert, AlertKind, Event
from hygie.patients import actions as patient_actions
from tests.audit import helpers

PARIS = ZoneInfo("Europe/Paris")
URL = "/journal/"


def _page(client, **params) -> str:
    r = client.get(URL, params)
    assert r.status_code == 200
    return r.content.decode()


def test_it_is_at_journal(db):
    assert reverse("journal") == URL


def test_it_asks_anonymous_users_to_sign_in(client, db):
    r = client.get(URL)
    assert r.status_code == 302 and r["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("who", ["alice", "remi", "sophie", "fabien"])
def test_it_is_forbidden_to_roles_without_the_journal(personas, login, who):
    assert login(getattr(personas, who)).get(URL).status_code == 403


@pytest.mark.parametrize("who", ["regine", "adam"])
def test_it_shows_events_with_the_patient_code_never_the_name(personas, login, who):
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    page = _page(login(getattr(personas, who)))

    assert personas.alice_patient.code in page
    assert "Accès exceptionnel au dossier" in page
    assert "Bob Lefèvre" in page and "Praticien titulaire" in page
    for secret in ("Moreau", "Jeanne"):
        assert secret not in page


def test_it_shows_break_the_glass_reasons_to_the_referent_only(personas, login):
    """Reasons are free text, possibly clinical: the referent reviews them, the admin does not."""
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    assert "Urgence : patient inconscient" in _page(login(personas.regine))
    page = _page(login(personas.adam))
    assert "Urgence : patient inconscient" not in page
    assert "motif masqué" in page


def test_it_filters_by_patient_code(personas, login):
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    helpers.record_at(datetime(2025, 3, 4, 10, 0, tzinfo=PARIS), Ev.PATIENT_VIEWED, actor=personas.bob,
                      target=personas.bob_patient)
    client = login(personas.regine)

    page = _page(client, patient=personas.bob_patient.code.lower())
    assert personas.bob_patient.code in page
    assert personas.alice_patient.code not in page
    assert "1 événement" in page


def test_it_shows_nothing_for_an_unknown_code(personas, login):
    assert "Aucun événement ne correspond." in _page(login(personas.regine), patient="P-ZZZZZZZZ")


def test_it_filters_by_user_action_and_period(personas, login):
    day = datetime(2025, 3, 4, 10, 0, tzinfo=PARIS)
    helpers.record_at(day, Ev.PATIENT_VIEWED, actor=personas.alice, target=personas.alice_patient)
    helpers.record_at(day, Ev.PATIENT_UPDATED, actor=personas.alice, target=personas.alice_patient)
    helpers.record_at(day + timedelta(days=2), Ev.PATIENT_VIEWED, actor=personas.alice, target=personas.alice_patient)
    helpers.record_at(day, Ev.PATIENT_VIEWED, actor=personas.bob, target=personas.bob_patient)
    client = login(personas.regine)

    page = _page(client, user=personas.alice.public_id, action=Ev.PATIENT_VIEWED, start="2025-03-04", end="2025-03-04")
    assert "1 événement" in page
    assert "04/03/2025 10:00:00" in page  # local time


def test_it_lists_actions_by_their_french_label(personas, login):
    page = _page(login(personas.regine))
    assert f'<option value="{Ev.BREAK_GLASS}">Accès exceptionnel au dossier</option>' in page


def test_it_refuses_a_period_that_ends_before_it_starts(personas, login):
    page = _page(login(personas.regine), start="2025-03-05", end="2025-03-04")
    assert "La fin de la période précède son début." in page


def test_it_shows_the_events_of_an_alert(personas, login):
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    event = Event.objects.get(action=Ev.BREAK_GLASS)
    alert = Alert.objects.create(kind=AlertKind.BREAK_GLASS, key="x", created_at=event.at, first_event_at=event.at,
                                 last_event_at=event.at, event_ids=[event.pk])
    page = _page(login(personas.regine), alert=alert.public_id)
    assert "1 événement" in page
    assert "alerte « Accès exceptionnel à examiner »" in page


def test_it_paginates_by_fifty(personas, login):
    helpers.record_many(60)
    client = login(personas.regine)
    first = _page(client)
    assert "Page 1 sur 2" in first
    assert "Page 2 sur 2" in _page(client, page=2)


def test_it_journals_each_viewing_with_the_filters_used_not_their_values(personas, login):
    client = login(personas.regine)
    _page(client, patient=personas.alice_patient.code, action=Ev.PATIENT_VIEWED)

    event = Event.objects.filter(action=Ev.JOURNAL_VIEWED).latest("id")
    assert event.actor == personas.regine
    assert event.patient_id == personas.alice_patient.pk
    assert event.details["filters"] == ["patient", "action"]
    assert personas.alice_patient.code not in str(event.details)


def test_it_verifies_the_journal_on_demand_and_shows_the_result(personas, login):
    helpers.record_many(5)
    checkpoint.make_checkpoint()
    client = login(personas.regine)

    r = client.post(reverse("journal_verify"), follow=True)
    page = r.content.decode()
    assert "Journal intègre" in page
    assert "Dernière vérification" in page and "journal intègre" in page
    assert "Dernier point de contrôle signé" in page
    event = Event.objects.get(action=Ev.JOURNAL_VERIFIED)
    assert event.actor == personas.regine and event.details["ok"] is True


def test_it_reports_an_altered_journal_and_raises_a_critical_alert(personas, login):
    helpers.journal_with_checkpoints(6, every=3)
    helpers.delete(2)
    client = login(personas.adam)

    page = client.post(reverse("journal_verify"), follow=True).content.decode()
    assert "Journal altéré à la position 2" in page
    alert = Alert.objects.get(kind=AlertKind.JOURNAL_ALTERED)
    assert alert.severity == "critical" and alert.details["position"] == 2


def test_it_refuses_verification_to_other_roles(personas, login):
    assert login(personas.alice).post(reverse("journal_verify")).status_code == 403
    chain.seal()
    assert not Event.objects.filter(action=Ev.JOURNAL_VERIFIED).exists()

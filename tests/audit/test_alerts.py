"""Anomaly alerts: each detector, incremental scanning, acknowledgement, email, dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from hygie.audit import actions, alerts, chain
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Alert, AlertKind, Event
from hygie.lib import openinghours
from hygie.patients import actions as patient_actions
from hygie.patients.models import BreakGlassAccess
from tests.audit.helpers import record_at
from tests.factories import make_patient

PARIS = ZoneInfo("Europe/Paris")
# A Tuesday, mid-morning: within the default opening hours (07:00-20:00, Monday-Saturday).
DAYTIME = datetime(2025, 3, 4, 10, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def always_open(settings):
    """Tests that write events at the real time must not depend on the hour they run at."""
    settings.OPENING_HOURS = openinghours.parse("00:00-24:00", "1-7")


@pytest.fixture
def default_hours(settings):
    settings.OPENING_HOURS = openinghours.parse("07:00-20:00", "1-6")


def _kinds() -> list[str]:
    return sorted(Alert.objects.values_list("kind", flat=True))


def test_it_raises_nothing_for_ordinary_work(personas, default_hours):
    for i in range(5):
        record_at(DAYTIME + timedelta(minutes=i), Ev.PATIENT_VIEWED, actor=personas.alice,
                  target=personas.alice_patient)

    assert alerts.scan() == []


def test_it_flags_record_accesses_outside_opening_hours_once_per_user_and_night(personas, default_hours):
    night = datetime(2025, 3, 4, 23, 30, tzinfo=PARIS)
    first = record_at(night, Ev.PATIENT_VIEWED, actor=personas.alice, target=personas.alice_patient)
    record_at(DAYTIME, Ev.PATIENT_VIEWED, actor=personas.alice, target=personas.alice_patient)
    alerts.scan()
    later = record_at(night + timedelta(minutes=10), Ev.HISTORY_VIEWED, actor=personas.alice,
                      target=personas.alice_patient)
    alerts.scan()

    alert = Alert.objects.get()
    assert alert.kind == AlertKind.OFF_HOURS
    assert alert.user == personas.alice
    assert sorted(alert.event_ids) == [first.pk, later.pk]
    assert alert.details["events"] == 2 and alert.details["patients"] == 1


def test_it_flags_sunday_accesses(personas, default_hours):
    record_at(datetime(2025, 3, 9, 11, 0, tzinfo=PARIS), Ev.CONSULTATION_VIEWED, actor=personas.alice,
              patient_id=personas.alice_patient.pk)
    alerts.scan()
    assert _kinds() == [AlertKind.OFF_HOURS]


def test_it_follows_the_opening_hours_setting(personas, settings):
    settings.OPENING_HOURS = openinghours.parse("08:00-12:00", "1-5")
    record_at(datetime(2025, 3, 4, 14, 0, tzinfo=PARIS), Ev.PATIENT_VIEWED, actor=personas.alice,
              target=personas.alice_patient)
    alerts.scan()
    assert _kinds() == [AlertKind.OFF_HOURS]


def test_it_flags_a_user_opening_many_more_records_than_usual(personas, settings):
    settings.ALERT_RECORDS_PER_HOUR = 10
    patients = [make_patient(personas.alice, birth_name=f"Nom{i}") for i in range(12)]
    for i, patient in enumerate(patients):
        record_at(DAYTIME + timedelta(minutes=i), Ev.PATIENT_VIEWED, actor=personas.alice, target=patient)
    alerts.scan()

    alert = Alert.objects.get()
    assert alert.kind == AlertKind.MANY_RECORDS and alert.user == personas.alice
    assert alert.details["peak_per_hour"] == 12
    assert alert.details["threshold"] == 10
    assert alert.details["patients"] == 12


def test_it_allows_a_user_who_usually_sees_that_many(personas, settings):
    settings.ALERT_RECORDS_PER_HOUR = 10
    patients = [make_patient(personas.alice, birth_name=f"Nom{i}") for i in range(12)]
    # The previous days, alice opened 12 records an hour: 12 is her normal.
    for day in range(1, 6):
        for i, patient in enumerate(patients):
            record_at(DAYTIME - timedelta(days=day) + timedelta(minutes=i), Ev.PATIENT_VIEWED,
                      actor=personas.alice, target=patient)
    alerts.scan()
    Alert.objects.all().delete()

    for i, patient in enumerate(patients):
        record_at(DAYTIME + timedelta(minutes=i), Ev.PATIENT_VIEWED, actor=personas.alice, target=patient)
    alerts.scan()

    assert _kinds() == []


def test_it_raises_one_alert_per_break_the_glass_access(personas):
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    alerts.scan()

    alert = Alert.objects.get()
    assert alert.kind == AlertKind.BREAK_GLASS and alert.user == personas.bob
    assert alert.details["patient"] == personas.alice_patient.pk
    # Ids and counts only: never the reason typed.
    assert "inconscient" not in str(alert.details)


def test_it_flags_a_burst_of_failed_logins_from_one_address(personas, settings):
    settings.ALERT_FAILED_LOGINS = 5
    from hygie.audit import context

    token = context.set_context(context.RequestContext("r", "203.0.113.9", "web"))
    try:
        for i in range(6):
            record_at(DAYTIME + timedelta(seconds=20 * i), Ev.LOGIN_FAILED, outcome=Outcome.FAILURE,
                      details={"reason": "unknown"})
    finally:
        context.reset_context(token)
    alerts.scan()

    alert = Alert.objects.get()
    assert alert.kind == AlertKind.FAILED_LOGINS
    assert alert.key == "ip:203.0.113.9" and alert.details["events"] == 6


def test_it_sees_a_burst_split_across_two_scans_on_one_account(personas, settings):
    settings.ALERT_FAILED_LOGINS = 4
    for i in range(3):
        record_at(DAYTIME + timedelta(seconds=i), Ev.LOGIN_FAILED, target=personas.alice,
                  outcome=Outcome.FAILURE, details={"reason": "password"})
    alerts.scan()
    assert _kinds() == []
    record_at(DAYTIME + timedelta(seconds=10), Ev.LOGIN_LOCKED, target=personas.alice, outcome=Outcome.DENIED)
    alerts.scan()

    alert = Alert.objects.get()
    assert alert.key == f"account:{personas.alice.pk}" and alert.user == personas.alice
    assert alert.details["events"] == 4


def test_it_does_not_count_failures_spread_out_in_time(personas, settings):
    settings.ALERT_FAILED_LOGINS = 4
    for i in range(6):
        record_at(DAYTIME + timedelta(minutes=10 * i), Ev.LOGIN_FAILED, target=personas.alice,
                  outcome=Outcome.FAILURE)
    alerts.scan()
    assert _kinds() == []


def test_it_flags_mass_exports(personas, settings):
    settings.ALERT_EXPORTS_PER_HOUR = 5
    for i in range(6):
        record_at(DAYTIME + timedelta(minutes=i), Ev.DOCUMENT_DOWNLOADED, actor=personas.alice,
                  patient_id=personas.alice_patient.pk)
    alerts.scan()
    assert AlertKind.MASS_EXPORT in _kinds()


def test_it_allows_exports_up_to_the_threshold(personas, settings):
    settings.ALERT_EXPORTS_PER_HOUR = 5
    for i in range(5):
        record_at(DAYTIME + timedelta(minutes=i), Ev.ACCESS_REPORT_EXPORTED, actor=personas.alice,
                  patient_id=personas.alice_patient.pk)
    alerts.scan()
    assert AlertKind.MASS_EXPORT not in _kinds()


@pytest.mark.parametrize("reason", ["inactive", "replacement"])
def test_it_flags_attempts_by_accounts_that_may_not_sign_in(personas, reason):
    record_at(DAYTIME, Ev.LOGIN_FAILED, target=personas.remi, outcome=Outcome.FAILURE, details={"reason": reason})
    alerts.scan()

    alert = Alert.objects.get()
    assert alert.kind == AlertKind.INACTIVE_ACCOUNT and alert.user == personas.remi
    assert alert.details["reason"] == reason


def test_it_reads_each_event_once(personas):
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    assert len(alerts.scan()) == 1
    assert alerts.scan() == []
    assert Alert.objects.count() == 1


def test_it_journals_each_new_alert(personas):
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    alert = alerts.scan()[0]
    event = Event.objects.get(action=Ev.ALERT_RAISED)
    assert event.target_id == str(alert.pk) and event.details["kind"] == AlertKind.BREAK_GLASS


def test_it_emails_new_alerts_when_asked(personas, settings, django_capture_on_commit_callbacks):
    settings.ALERT_EMAIL = ["referent@cabinet.example"]
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    with django_capture_on_commit_callbacks(execute=True):
        alerts.scan()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["referent@cabinet.example"]
    assert "Accès exceptionnel à examiner" in message.subject
    body = message.subject + message.body
    for secret in ("Moreau", "Jeanne", "inconscient"):
        assert secret not in body


def test_it_sends_no_email_by_default(personas, django_capture_on_commit_callbacks):
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    with django_capture_on_commit_callbacks(execute=True):
        alerts.scan()
    assert mail.outbox == []


# --- Acknowledging -------------------------------------------------------------------------


def _break_glass_alert(personas) -> Alert:
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    return alerts.scan()[0]


def test_it_lets_the_referent_acknowledge_with_a_comment(personas, login):
    alert = _break_glass_alert(personas)
    client = login(personas.regine)
    r = client.post(reverse("alert_acknowledge", args=[alert.public_id]), {"comment": "Vu avec le Dr Lefèvre."})

    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == personas.regine and alert.comment == "Vu avec le Dr Lefèvre."
    event = Event.objects.get(action=Ev.ALERT_ACKNOWLEDGED)
    assert event.actor == personas.regine and event.target_id == str(alert.pk)
    assert "Lefèvre" not in str(event.details)


def test_it_marks_the_break_the_glass_access_reviewed(personas, login):
    alert = _break_glass_alert(personas)
    login(personas.regine).post(reverse("alert_acknowledge", args=[alert.public_id]), {"comment": "Justifié."})

    access = BreakGlassAccess.objects.get()
    assert access.reviewed_by == personas.regine and access.reviewed_at is not None
    reviewed = Event.objects.get(action=Ev.BREAK_GLASS_REVIEWED)
    assert reviewed.patient_id == personas.alice_patient.pk


def test_it_wants_a_comment(personas, login):
    alert = _break_glass_alert(personas)
    r = login(personas.regine).post(reverse("alert_acknowledge", args=[alert.public_id]), {"comment": " "})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_it_acknowledges_once(personas):
    alert = _break_glass_alert(personas)
    actions.acknowledge_alert(actor=personas.regine, alert=alert, comment="Vu.")
    with pytest.raises(actions.ActionError):
        actions.acknowledge_alert(actor=personas.regine, alert=alert, comment="Vu aussi.")


def test_the_referent_alone_reviews_a_break_the_glass_access(personas, login):
    """Reviewing means reading the reason, which the administrator may not."""
    alert = _break_glass_alert(personas)
    client = login(personas.adam)
    page = client.get(reverse("alert_list")).content.decode()
    assert "Urgence : patient inconscient" not in page and "motif masqué" in page
    assert reverse("alert_acknowledge", args=[alert.public_id]) not in page
    client.post(reverse("alert_acknowledge", args=[alert.public_id]), {"comment": "Vu."})
    alert.refresh_from_db()
    assert alert.acknowledged_at is None and BreakGlassAccess.objects.get().reviewed_at is None

    page = login(personas.regine).get(reverse("alert_list")).content.decode()
    assert "Urgence : patient inconscient" in page
    assert reverse("alert_acknowledge", args=[alert.public_id]) in page


def test_it_forbids_acknowledging_to_other_roles(personas, login):
    alert = _break_glass_alert(personas)
    r = login(personas.alice).post(reverse("alert_acknowledge", args=[alert.public_id]), {"comment": "Moi."})
    assert r.status_code == 403


def test_it_raises_a_new_alert_after_an_acknowledged_one(personas, settings):
    settings.ALERT_FAILED_LOGINS = 3
    for i in range(3):
        record_at(DAYTIME + timedelta(seconds=i), Ev.LOGIN_FAILED, target=personas.alice, outcome=Outcome.FAILURE)
    alert = alerts.scan()[0]
    actions.acknowledge_alert(actor=personas.regine, alert=alert, comment="Faute de frappe.")
    record_at(DAYTIME + timedelta(seconds=5), Ev.LOGIN_FAILED, target=personas.alice, outcome=Outcome.FAILURE)
    assert len(alerts.scan()) == 1


# --- Where alerts show ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["regine", "adam"])
def test_it_shows_open_alerts_on_the_referent_and_admin_dashboard(personas, login, who):
    _break_glass_alert(personas)
    page = login(getattr(personas, who)).get("/").content.decode()
    assert "1 alerte à examiner" in page
    assert "Accès exceptionnel à examiner" in page
    assert reverse("alert_list") in page


def test_it_shows_no_alert_panel_to_practitioners(personas, login):
    _break_glass_alert(personas)
    page = login(personas.alice).get("/").content.decode()
    assert "alerte" not in page.lower()


def test_it_lists_alerts_with_a_link_to_their_events(personas, login):
    alert = _break_glass_alert(personas)
    page = login(personas.regine).get(reverse("alert_list")).content.decode()
    assert f"{reverse('journal')}?alert={alert.public_id}" in page
    assert personas.alice_patient.code in page
    assert "Moreau" not in page


def test_it_scans_on_demand_from_the_command_line(personas):
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    out = StringIO()
    call_command("audit", "alerts", stdout=out)
    assert "1 nouvelle(s) alerte(s) ; 1 à examiner au total." in out.getvalue()


def test_it_scans_events_sealed_after_commit(personas):
    # On PostgreSQL events join the chain after their commit: the scan seals first.
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    chain.seal()
    assert len(alerts.scan()) == 1

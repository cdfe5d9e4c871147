"""The daily jobs: automatic purge and its notice; the other data (appointments, care-sheet
copies, billing entries, departed staff accounts). Each journaled with counts only."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from hygie.accounts import actions as account_actions
from hygie.agenda.models import Appointment
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.billing.models import CareSheet
from hygie.keys.models import PatientKey
from hygie.lib.retention import AUTO_PURGE_NOTICE_DAYS
from hygie.retention import actions, jobs
from hygie.retention.models import PurgeNotice
from hygie.worker import registry
from tests.factories import make_appointment, make_care_sheet, make_consultation, make_patient, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_record(personas, own_key_file):
    patient = make_patient(personas.alice, birth_name="Ancien", birth_date=date(1950, 3, 12))
    patient.declared_last_visit = date(2001, 6, 15)
    patient.save()
    return patient


def test_the_jobs_are_registered_daily() -> None:
    for name in ("retention-records", "retention-other-data"):
        assert registry.jobs()[name].interval() == timedelta(days=1)
    assert "appointment-reasons-purge" in registry.jobs()  # RET-6 reasons: kept


def test_without_automatic_purge_nothing_is_destroyed(personas, due_record, settings) -> None:
    settings.RETENTION_AUTO_PURGE = False
    for _ in range(2):
        jobs.retention_records()
    assert PatientKey.objects.filter(patient_id=due_record.pk).exists()
    assert not PurgeNotice.objects.exists()
    event = Event.objects.filter(action=Ev.RETENTION_DUE).last()
    assert event.details == {"records": 3, "due": 1}


def test_automatic_purge_respects_its_notice(personas, due_record, settings) -> None:
    settings.RETENTION_AUTO_PURGE = True
    today = timezone.localdate()
    assert actions.daily(today=today)["notices"] == 1
    notice = PurgeNotice.objects.get()
    assert notice.purge_after == today + timedelta(days=AUTO_PURGE_NOTICE_DAYS)
    # Every day of the notice: still there.
    for days in (1, AUTO_PURGE_NOTICE_DAYS - 1):
        assert actions.daily(today=today + timedelta(days=days))["purged"] == 0
        assert PatientKey.objects.filter(patient_id=due_record.pk).exists()
    assert actions.daily(today=today + timedelta(days=AUTO_PURGE_NOTICE_DAYS))["purged"] == 1
    assert not PatientKey.objects.filter(patient_id=due_record.pk).exists()
    approved = Event.objects.get(action=Ev.RETENTION_PURGE_APPROVED)
    assert approved.actor_id is None and approved.details["via"] == "automatic"
    assert Event.objects.get(action=Ev.PATIENT_ERASED).details["via"] == "automatic"


def test_a_consultation_during_the_notice_cancels_it(personas, due_record, settings) -> None:
    settings.RETENTION_AUTO_PURGE = True
    today = timezone.localdate()
    actions.daily(today=today)
    make_consultation(due_record, personas.alice, date=timezone.now())
    assert actions.daily(today=today + timedelta(days=AUTO_PURGE_NOTICE_DAYS))["purged"] == 0
    assert PatientKey.objects.filter(patient_id=due_record.pk).exists()
    assert not PurgeNotice.objects.exists()


def test_old_appointments_go_and_the_record_keeps_its_consultations(personas, own_key_file, settings) -> None:
    settings.APPOINTMENT_RETENTION_MONTHS = 12
    patient = personas.alice_patient
    make_consultation(patient, personas.alice, date=timezone.now() - timedelta(days=500))
    old = make_appointment(patient, personas.alice, start=timezone.now() - timedelta(days=400))
    recent = make_appointment(patient, personas.alice, start=timezone.now() - timedelta(days=300))
    assert actions.purge_old_appointments() == 1
    assert list(Appointment.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Appointment.objects.filter(pk=old.pk).exists()
    assert patient.consultations.count() == 1
    event = Event.objects.get(action=Ev.RETENTION_DATA_PURGED)
    assert event.details == {"kind": "appointments", "count": 1, "months": 12}


def test_care_sheet_copies_after_3_months_and_billing_entries_after_the_accounting_period(
    personas, own_key_file, settings
) -> None:
    settings.ACCOUNTING_RETENTION_YEARS = 10
    today = timezone.localdate()
    patient = personas.alice_patient
    fresh = make_care_sheet(patient, personas.alice, date=today - timedelta(days=30), acts="G+MCG")
    older = make_care_sheet(patient, personas.alice, date=today - timedelta(days=120), acts="G")
    ancient = make_care_sheet(patient, personas.alice, date=today - timedelta(days=11 * 366), acts="C")
    assert actions.purge_care_sheet_copies() == 2
    assert actions.purge_care_sheet_copies() == 0
    assert CareSheet.objects.get(pk=fresh.pk).acts == "G+MCG"
    kept = CareSheet.objects.get(pk=older.pk)
    assert kept.acts == "" and kept.amount == Decimal("30.00")
    assert actions.purge_billing_entries() == 1
    assert not CareSheet.objects.filter(pk=ancient.pk).exists()
    kinds = list(Event.objects.filter(action=Ev.RETENTION_DATA_PURGED).values_list("details", flat=True))
    assert kinds == [
        {"kind": "care_sheet_copies", "count": 2, "months": 3},
        {"kind": "billing_entries", "count": 1, "years": 10},
    ]


def test_departed_accounts_lose_their_personal_data_but_keep_their_journal_identity(personas, settings) -> None:
    leaver = make_user("claire.secretaire", "secretaire", first_name="Claire", last_name="Dupont", email="c@x.fr")
    account_actions.deactivate(actor=personas.adam, user=leaver)
    journal_rows = Event.objects.filter(target_id=str(leaver.pk), target_type="accounts.user").count()
    assert actions.purge_departed_accounts() == 0  # deactivated today: the journal still names them
    later = timezone.now() + timedelta(days=settings.JOURNAL_RETENTION_DAYS + 1)
    assert actions.purge_departed_accounts(now=later) == 1
    leaver.refresh_from_db()
    assert (leaver.username, leaver.first_name, leaver.last_name, leaver.email) == (
        f"ancien-compte-{leaver.pk}", "", "", ""
    )
    assert not leaver.has_usable_password() and leaver.role == "secretaire"
    assert Event.objects.filter(target_id=str(leaver.pk), target_type="accounts.user").count() == journal_rows + 1
    assert actions.purge_departed_accounts(now=later) == 0

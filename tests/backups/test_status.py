"""Are backups late? Last backup, last off-site copy, last restore test, against their thresholds
(26 h, 26 h, 35 days by default), the clock frozen by passing `now`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from hygie.backups import status
from hygie.backups.models import Run, RunKind, RunStatus

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.get_current_timezone())


def _run(kind=RunKind.BACKUP, state=RunStatus.SUCCESS, ago=timedelta(hours=1), offsite=False, message=""):
    finished = NOW - ago
    return Run.objects.create(
        kind=kind, status=state, offsite=offsite, started_at=finished - timedelta(minutes=5), finished_at=finished,
        message=message,
    )


def _items(now=NOW) -> dict[str, status.Item]:
    return {item.key: item for item in status.summary(now=now)}


def test_what_never_happened_is_late():
    items = _items()
    assert list(items) == ["backup", "offsite", "restore_test"]
    for item in items.values():
        assert item.last_success is None and item.age is None and item.late


@pytest.mark.parametrize(("hours", "late"), [(1, False), (25.9, False), (26.1, True), (72, True)])
def test_a_backup_is_late_after_26_hours(hours, late):
    _run(ago=timedelta(hours=hours))
    item = _items()["backup"]
    assert item.late is late and item.age == timedelta(hours=hours)
    assert item.last_success == NOW - timedelta(hours=hours)


def test_only_an_offsite_copy_counts_as_offsite():
    _run(ago=timedelta(hours=2))
    items = _items()
    assert not items["backup"].late and items["offsite"].late and items["offsite"].last_success is None
    _run(ago=timedelta(hours=3), offsite=True)
    items = _items()
    assert not items["offsite"].late and items["offsite"].age == timedelta(hours=3)
    # The newest backup of any kind is the one shown for « Dernière sauvegarde ».
    assert items["backup"].age == timedelta(hours=2)


@pytest.mark.parametrize(("days", "late"), [(34, False), (36, True)])
def test_a_restore_test_is_late_after_35_days(days, late):
    _run(kind=RunKind.TEST_RESTORE, ago=timedelta(days=days))
    assert _items()["restore_test"].late is late


def test_the_thresholds_come_from_the_settings(settings):
    settings.BACKUP_LATE_HOURS = 2
    settings.RESTORE_TEST_LATE_DAYS = 7
    _run(ago=timedelta(hours=3))
    _run(kind=RunKind.TEST_RESTORE, ago=timedelta(days=8))
    items = _items()
    assert items["backup"].late and items["backup"].limit == timedelta(hours=2)
    assert items["restore_test"].late


def test_a_failure_after_the_last_success_is_reported():
    _run(ago=timedelta(hours=5))
    _run(state=RunStatus.FAILURE, ago=timedelta(hours=1), message="Disque plein.")
    item = _items()["backup"]
    assert not item.late  # still within 26 h of the last success
    assert item.failed_at == NOW - timedelta(hours=1) and item.failure_message == "Disque plein."


def test_a_failure_before_the_last_success_is_not():
    _run(state=RunStatus.FAILURE, ago=timedelta(hours=5), message="Disque plein.")
    _run(ago=timedelta(hours=1))
    item = _items()["backup"]
    assert item.failed_at is None and item.failure_message == ""


def test_queued_and_running_runs_do_not_count():
    _run(state=RunStatus.RUNNING, ago=timedelta(minutes=1))
    Run.objects.create(kind=RunKind.BACKUP, status=RunStatus.QUEUED, started_at=NOW)
    item = _items()["backup"]
    assert item.late and item.last_success is None and item.failed_at is None


def test_any_late():
    _run(ago=timedelta(hours=1), offsite=True)
    assert status.any_late(status.summary(now=NOW))  # no restore test yet
    _run(kind=RunKind.TEST_RESTORE, ago=timedelta(days=1))
    assert not status.any_late(status.summary(now=NOW))

"""Are backups late? Last backup, last off-site copy, last restore test, against their thresholds
(26 h, 26 h, 35 days by default), the clock frozen by passing `now`."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from hygie.backups import actions, jobs, service, status
from hygie.backups.models import Run, RunKind, RunStatus, Snapshot, Target, TargetKind

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


@pytest.mark.parametrize("kind", TargetKind.values)
@pytest.mark.parametrize("always_connected", [True, False])
def test_the_offsite_query_agrees_with_the_property(kind, always_connected):
    target = Target.objects.create(name="D", kind=kind, always_connected=always_connected)
    assert Target.objects.filter(Target.offsite_q()).exists() is target.offsite
    assert target.offsite is (kind != TargetKind.DIRECTORY or not always_connected)


def test_a_disk_marked_as_plugged_in_again_no_longer_holds_an_offsite_copy():
    disk = Target.objects.create(name="Disque USB", kind=TargetKind.DIRECTORY, always_connected=False)
    run = _run(ago=timedelta(hours=2), offsite=True)
    Run.objects.filter(pk=run.pk).update(target=disk)
    assert _items()["offsite"].age == timedelta(hours=2)
    actions.change_target(None, disk, always_connected=True)  # it stays plugged in from now on
    assert _items()["offsite"].last_success is None and _items()["offsite"].late
    # A copy made while it was plugged in does not count once it is unplugged: the next run will.
    actions.change_target(None, disk, always_connected=False)
    Run.objects.filter(pk=run.pk).update(offsite=False)
    assert _items()["offsite"].last_success is None
    # The copies of a destination removed since stay where they are, off-site as they were.
    Run.objects.filter(pk=run.pk).update(offsite=True)
    actions.remove_target(None, disk)
    assert _items()["offsite"].age == timedelta(hours=2)


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


def test_a_failure_without_any_success_is_reported_and_an_unfinished_one_by_its_start():
    Run.objects.create(kind=RunKind.BACKUP, status=RunStatus.FAILURE, started_at=NOW - timedelta(hours=3),
                       message="Destination injoignable.")
    item = _items()["backup"]
    assert item.last_success is None and item.late
    assert item.failed_at == NOW - timedelta(hours=3) and item.failure_message == "Destination injoignable."
    assert _items()["restore_test"].failed_at is None


def test_a_failure_started_before_the_last_success_but_finished_after_it_is_reported():
    # Two destinations at once: the failing run began first and ended after the success.
    Run.objects.create(kind=RunKind.BACKUP, status=RunStatus.FAILURE, started_at=NOW - timedelta(hours=4),
                       finished_at=NOW - timedelta(hours=1), message="Disque plein.")
    Run.objects.create(kind=RunKind.BACKUP, status=RunStatus.FAILURE, started_at=NOW - timedelta(hours=3),
                       finished_at=NOW - timedelta(hours=2, minutes=50), message="Trop tôt.")
    _run(ago=timedelta(hours=2))
    item = _items()["backup"]
    assert item.last_success == NOW - timedelta(hours=2)
    assert item.failed_at == NOW - timedelta(hours=1) and item.failure_message == "Disque plein."


def test_the_three_questions_cost_one_query(django_assert_num_queries):
    _run(ago=timedelta(hours=5), offsite=True)
    _run(state=RunStatus.FAILURE, ago=timedelta(hours=1), message="Disque plein.")
    _run(kind=RunKind.TEST_RESTORE, ago=timedelta(days=1))
    with django_assert_num_queries(1):
        items = _items()
    assert items["backup"].failure_message == "Disque plein." and not items["restore_test"].late


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


# --- Through the pages, after real runs ---------------------------------------------------------
# Issue 18, item 11: the backups page said « Dernière copie hors site : jamais » after a backup
# asked for from the page (« Sauvegarder maintenant ») had gone to a disk marked as unplugged
# after each run: the worker reused the queued Run row without linking it to its destination.


def _status_of(page: str, key: str) -> str:
    start = page.index(f'id="backup-status-{key}"')
    return page[start:page.index("</li>", start)]


def _panel_is_red(page: str) -> bool:
    start = page.index('id="backups-panel"')
    return "severity-critical" in page[page.rindex("<div", 0, start):start]


@pytest.fixture
def admin_client(practice_data, login):
    return login(practice_data.adam)


def _removable_disk(vault):
    return actions.add_target(
        None, name="Disque USB", kind=TargetKind.DIRECTORY, config={"path": str(vault.out)}, always_connected=False
    )


@pytest.mark.django_db(transaction=True)
def test_a_requested_backup_to_an_unplugged_disk_is_an_offsite_copy(admin_client, vault, capsys):
    disk = _removable_disk(vault)
    assert disk.offsite
    page = admin_client.get(reverse("backups")).content.decode()
    assert "jamais" in _status_of(page, "offsite")

    admin_client.post(reverse("backup_request"))  # « Sauvegarder maintenant »
    assert jobs.daily_backup() == "1 destination(s) sauvegardée(s)"  # what the worker runs
    run = Run.objects.get(kind=RunKind.BACKUP)
    assert run.status == RunStatus.SUCCESS and run.target == disk and run.offsite
    assert run.location == service.target_location(disk).label

    page = admin_client.get(reverse("backups")).content.decode()
    offsite = _status_of(page, "offsite")
    assert "jamais" not in offsite and "badge ok" in offsite and "en retard" not in offsite
    assert f"{timezone.localtime(run.finished_at):%d/%m/%Y %H:%M}" in offsite
    assert "badge ok" in _status_of(page, "backup")
    # The run is listed with its destination.
    row = page[page.index(f'id="run-{run.public_id}"'):]
    assert reverse("backup_target_detail", args=[disk.public_id]) in row[:row.index("</tr>")]
    # Still red on the dashboard: no restore test yet.
    assert _panel_is_red(admin_client.get("/").content.decode())

    admin_client.post(reverse("restore_test_request"))
    assert jobs.monthly_restore_test().startswith("réussi")
    assert not _panel_is_red(admin_client.get("/").content.decode())
    # The command line says the same.
    call_command("backup", "status")  # exit code 0: nothing late
    out = capsys.readouterr().out
    assert f"Dernière copie hors site : {timezone.localtime(run.finished_at):%d/%m/%Y %H:%M} — à jour" in out


@pytest.mark.django_db(transaction=True)
def test_a_disk_that_stays_plugged_in_is_no_offsite_copy(admin_client, vault, capsys):
    disk = actions.add_target(None, name="Disque", kind=TargetKind.DIRECTORY, config={"path": str(vault.out)})
    admin_client.post(reverse("backup_request"))
    jobs.daily_backup()
    jobs.monthly_restore_test()
    assert Run.objects.get(kind=RunKind.BACKUP).target == disk
    page = admin_client.get(reverse("backups")).content.decode()
    assert "badge ok" in _status_of(page, "backup") and "jamais" in _status_of(page, "offsite")
    assert _panel_is_red(admin_client.get("/").content.decode())
    with pytest.raises(CommandError, match="en retard"):
        call_command("backup", "status")
    assert "Dernière copie hors site : jamais — EN RETARD" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_a_destination_that_cannot_be_opened_fails_the_requested_run(admin_client, vault, monkeypatch):
    """The queued row used to stay « demandée » for ever (every later request refused) when the
    only destination could not even be opened."""
    disk = _removable_disk(vault)

    def unusable(target):
        raise service.BackupError(f"Destination « {target.name} » inutilisable : clés absentes.")

    monkeypatch.setattr(service, "target_location", unusable)
    admin_client.post(reverse("backup_request"))
    assert jobs.daily_backup().startswith("échec")
    run = Run.objects.get(kind=RunKind.BACKUP)
    assert run.status == RunStatus.FAILURE and run.target == disk and "inutilisable" in run.message
    page = admin_client.get(reverse("backups")).content.decode()
    assert "inutilisable" in _status_of(page, "backup") and "jamais" in _status_of(page, "offsite")
    actions.request_backup(None)  # no longer blocked


def test_the_migration_links_the_runs_written_before(vault):
    """hygie/backups/migrations/0002_link_runs_to_targets.py, on the rows the old code left."""
    migration = importlib.import_module("hygie.backups.migrations.0002_link_runs_to_targets")
    usb = Target.objects.create(name="Disque USB", kind=TargetKind.DIRECTORY, always_connected=False)
    nas = Target.objects.create(name="NAS", kind=TargetKind.SFTP)
    when = timezone.now()
    runs = {}
    for name, target in (("a", usb), ("b", nas), ("pruned", None), ("one-off", None)):
        archive = f"hygie-backup-{name}.age"
        runs[name] = _run(ago=timedelta(hours=1))
        Run.objects.filter(pk=runs[name].pk).update(details={"archive": archive})
        if name != "pruned":
            location = str(target.public_id) if target else str(vault.out)
            Snapshot.objects.create(location=location, name=archive, created_at=when)
    failed = _run(state=RunStatus.FAILURE)
    migration.link_runs(django_apps, None)
    for run in (*runs.values(), failed):
        run.refresh_from_db()
    assert (runs["a"].target, runs["a"].offsite, runs["a"].location) == (usb, True, "Disque USB")
    assert (runs["b"].target, runs["b"].offsite) == (nas, True)
    for name in ("pruned", "one-off"):
        assert runs[name].target is None and not runs[name].offsite
    assert failed.target is None

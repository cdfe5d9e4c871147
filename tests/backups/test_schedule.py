"""Targets, the worker's jobs, generations, the restore test, and the alert on failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from hygie.audit import alerts
from hygie.audit.events import Ev
from hygie.audit.models import AlertKind, Event
from hygie.backups import actions, jobs, restore, service
from hygie.backups.models import Run, RunKind, RunStatus
from hygie.lib import backuparchive


@pytest.fixture
def disk(vault, practice_data):
    return actions.add_target(None, name="Disque", kind="directory", config={"path": str(vault.out)})


def test_the_daily_job_backs_up_once_then_waits(disk, vault):
    assert jobs.daily_backup() == "1 destination(s) sauvegardée(s)"
    assert jobs.daily_backup() == "rien à faire"
    run = Run.objects.get(kind=RunKind.BACKUP)
    assert run.target == disk and run.status == RunStatus.SUCCESS and not run.offsite
    # A day later it is due again.
    Run.objects.update(
        finished_at=timezone.now() - timedelta(hours=24), started_at=timezone.now() - timedelta(hours=24)
    )
    assert jobs.daily_backup() == "1 destination(s) sauvegardée(s)"


def test_a_requested_backup_runs_at_once(disk, vault):
    jobs.daily_backup()
    queued = actions.request_backup(None)
    assert queued.status == RunStatus.QUEUED
    assert jobs.daily_backup() == "1 destination(s) sauvegardée(s)"
    queued.refresh_from_db()
    assert queued.status == RunStatus.SUCCESS and queued.bytes_done == queued.bytes_total > 0


def test_a_failed_backup_raises_a_critical_alert_and_is_retried_later(disk, vault):
    vault.out.rmdir()  # the disk is unplugged
    assert jobs.daily_backup().startswith("échec")
    run = Run.objects.get()
    assert run.status == RunStatus.FAILURE and "introuvable" in run.message
    found = alerts.scan()
    [alert] = [a for a in found if a.kind == AlertKind.BACKUP_FAILED]  # (others: the test runs at any hour)
    assert alert.severity == "critical"
    # Not hammered: tried again after an hour.
    assert jobs.daily_backup() == "rien à faire"
    Run.objects.update(started_at=timezone.now() - timedelta(hours=2))
    vault.out.mkdir()
    assert jobs.daily_backup() == "1 destination(s) sauvegardée(s)"


def test_the_restore_test_restores_checks_and_records(disk, vault):
    assert jobs.monthly_restore_test() == "rien à faire"  # nothing backed up yet
    jobs.daily_backup()
    assert jobs.monthly_restore_test() == "réussi (3 documents déchiffrés)"
    run = Run.objects.get(kind=RunKind.TEST_RESTORE)
    assert run.status == RunStatus.SUCCESS
    assert run.details["patients"] >= 2 and run.details["documents"] == 3
    assert Event.objects.filter(action=Ev.RESTORE_TEST_PASSED).exists()
    assert jobs.monthly_restore_test() == "rien à faire"  # next month
    # Nothing left behind: no scratch dir.
    assert not list((vault.data_dir / "tmp").glob("restore-test-*"))


def test_a_restore_test_of_a_damaged_backup_fails_loudly(disk, vault):
    jobs.daily_backup()
    [pack] = (vault.out / "packs").iterdir()
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 1
    pack.write_bytes(bytes(data))
    with pytest.raises(service.BackupError, match=pack.name):
        restore.test_restore()
    assert Run.objects.get(kind=RunKind.TEST_RESTORE).status == RunStatus.FAILURE
    assert Event.objects.filter(action=Ev.RESTORE_TEST_FAILED).exists()
    assert AlertKind.BACKUP_FAILED in [a.kind for a in alerts.scan()]


def test_the_cli_runs_a_restore_test(disk, vault, capsys):
    call_command("backup", "run")
    call_command("backup", "test-restore", "--target", "Disque")
    assert "Test de restauration réussi" in capsys.readouterr().out


def test_generations_are_pruned_but_every_kept_snapshot_stays_whole(disk, vault, monkeypatch, settings):
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY, settings.BACKUP_KEEP_MONTHLY = 2, 0, 0
    clock = iter(datetime(2026, 11, d, 10, tzinfo=UTC) for d in (1, 2, 3, 4))
    real_snapshot, real_pack = backuparchive.snapshot_name, backuparchive.pack_name
    when = {}

    def snapshot_name(now=None):
        return real_snapshot(when["now"])

    def pack_name(now=None):
        return real_pack(when["now"])

    monkeypatch.setattr(backuparchive, "snapshot_name", snapshot_name)
    monkeypatch.setattr(backuparchive, "pack_name", pack_name)
    location = service.target_location(disk)
    for moment in clock:
        when["now"] = moment
        service.run(targets=[disk])
    names = backuparchive.snapshots(location.store.list())
    assert [backuparchive.time_of(n).day for n in names] == [3, 4]
    # The first pack holds the three documents every snapshot reuses: kept.
    assert len([n for n in location.store.list() if backuparchive.is_pack(n)]) == 1
    assert dict(service.verify(location)) == {n: None for n in names}
    assert Event.objects.filter(action=Ev.BACKUP_PRUNED).count() == 2


def test_an_orphan_pack_of_a_killed_run_is_deleted(disk, vault):
    location = service.target_location(disk)
    service.run(targets=[disk])
    orphan = backuparchive.pack_name(datetime.now(UTC) - timedelta(days=2))
    with location.store.writer(orphan) as sink:
        sink.write(b"left by a killed run")
    service.run(targets=[disk])
    assert orphan not in location.store.list()


def test_removing_a_target_keeps_its_history(disk, vault):
    jobs.daily_backup()
    actions.remove_target(None, disk)
    run = Run.objects.get()
    assert run.target is None and run.status == RunStatus.SUCCESS
    assert backuparchive.snapshots(p.name for p in vault.out.iterdir())  # the backups stay there


def test_a_run_left_running_by_a_dead_worker_is_closed(disk, vault):
    stale = Run.objects.create(
        kind=RunKind.BACKUP, status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(hours=7)
    )
    jobs.daily_backup()
    stale.refresh_from_db()
    assert stale.status == RunStatus.FAILURE
    actions.request_backup(None)  # no longer blocked


def test_the_cli_status_says_what_is_late(disk, vault, capsys):
    with pytest.raises(CommandError, match="en retard"):
        call_command("backup", "status")
    call_command("backup", "run")
    with pytest.raises(CommandError):  # no restore test yet
        call_command("backup", "status")
    out = capsys.readouterr().out
    assert "Dernière sauvegarde" in out and "à jour" in out and "jamais" in out
    assert "ATTENTION" in out  # the only destination is a disk that stays plugged in

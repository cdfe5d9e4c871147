"""Backups to a real OpenSSH server on loopback and to a local S3-compatible server (moto:
the only one installable here), through configured targets, end to end."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from hygie.backups import actions, restore, service
from hygie.backups.models import Run, RunKind, RunStatus
from hygie.lib import backuparchive
from tests.backups.conftest import table_counts


def _sftp_target(server, name="NAS"):
    return actions.add_target(
        None,
        name=name,
        kind="sftp",
        config={
            "host": server.host,
            "port": server.port,
            "username": server.username,
            "path": str(server.directory),
            "host_key": server.host_key,
        },  # fmt: skip
        secret={"private_key": server.private_key},
    )


def _s3_target(server, *, lock_days=0, name="Cloud"):
    bucket = server.create_bucket(object_lock=bool(lock_days))
    return actions.add_target(
        None,
        name=name,
        kind="s3",
        config={
            "endpoint_url": server.endpoint_url,
            "bucket": bucket,
            "prefix": "cabinet",
            "region": server.region,
            "access_key": server.access_key,
            "lock_days": lock_days,
        },  # fmt: skip
        secret={"secret_key": server.secret_key},
    )


@pytest.mark.parametrize("kind", ["sftp", "s3"])
def test_it_backs_up_incrementally_verifies_and_restores_from_a_remote_target(
    kind, practice_data, vault, restore_target, request
):
    server = request.getfixturevalue(f"{kind}_server")
    target = _sftp_target(server) if kind == "sftp" else _s3_target(server)
    [first] = service.run(targets=[target])
    [second] = service.run(targets=[target])
    assert (first.sent, second.sent, second.reused) == (3, 0, 3)
    run = Run.objects.filter(kind=RunKind.BACKUP).first()
    assert run.offsite and run.status == RunStatus.SUCCESS

    location = service.target_location(target)
    assert [reason for _, reason in service.verify(location)] == [None]  # same day: one generation kept
    done = restore.restore(location, restore_target.data_dir, database_url=restore_target.database_url)
    assert done.snapshot == second.snapshot
    assert table_counts(restore_target.count)["patients_document"] == 3
    assert len(list((restore_target.data_dir / "documents").iterdir())) == 3


def test_the_monthly_restore_test_prefers_the_offsite_copy(practice_data, vault, sftp_server):
    actions.add_target(None, name="Disque", kind="directory", config={"path": str(vault.out)})
    _sftp_target(sftp_server)
    call_command("backup", "run")
    result = restore.test_restore()
    assert result["documents_decrypted"] == 3
    assert Run.objects.get(kind=RunKind.TEST_RESTORE).location.startswith("« NAS »")


def test_object_lock_keeps_copies_that_pruning_would_delete(practice_data, vault, s3_server, settings):
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY, settings.BACKUP_KEEP_MONTHLY = 1, 0, 0
    target = _s3_target(s3_server, lock_days=1)
    location = service.target_location(target)
    for _ in range(2):
        service.run(targets=[target])
    # Two snapshots the same day: the older is out of the generations, but under retention.
    names = backuparchive.snapshots(location.store.list())
    assert len(names) == 2
    pruned = service.prune(location)
    assert (pruned.snapshots, pruned.locked) == (0, 1)
    assert [reason for _, reason in service.verify(location)] == [None, None]


def test_a_changed_server_key_is_refused_and_reported(practice_data, vault, sftp_server):
    target = _sftp_target(sftp_server)
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    actions.change_target(None, target, config={**target.config, "host_key": other})
    with pytest.raises(service.BackupError, match="NAS"):
        service.run(targets=[target])
    run = Run.objects.get()
    assert run.status == RunStatus.FAILURE and "clé du serveur" in run.message


def test_an_unreachable_server_fails_one_target_not_the_others(practice_data, vault, sftp_server):
    disk = actions.add_target(None, name="Disque", kind="directory", config={"path": str(vault.out)})
    target = _sftp_target(sftp_server)
    actions.change_target(None, target, config={**target.config, "port": 1})
    with pytest.raises(service.BackupError):
        service.run()
    statuses = {r.target.name: r.status for r in Run.objects.all()}
    assert statuses == {"Disque": RunStatus.SUCCESS, "NAS": RunStatus.FAILURE}
    assert backuparchive.snapshots(p.name for p in vault.out.iterdir())
    del disk

"""What must not go wrong: a corrupted archive or pack, a killed run, a full disk, a wrong
identity, a missing destination."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups import service
from hygie.backups.models import Run, RunStatus
from hygie.backups.stores.directory import DirectoryStore
from hygie.lib import backuparchive
from tests.backups.conftest import copy_test_database, database_url


def _verify(vault, path=None):
    return service.verify(service.directory_location(vault.out), only=path.name if path else None)


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_it_detects_one_flipped_byte_anywhere(practice_data, vault):
    [written] = service.run(vault.out)
    archive = vault.out / written.snapshot
    [pack] = (vault.out / "packs").iterdir()
    for damaged in (archive, pack):
        good = damaged.read_bytes()
        # In the age header, in the first payload chunk, in the middle, on the very last byte.
        for offset in (20, 300, len(good) // 2, len(good) - 1):
            _flip(damaged, offset)
            [(name, reason)] = _verify(vault)
            assert reason is not None and damaged.name in reason, (damaged.name, offset)
            with pytest.raises(CommandError, match="1 sauvegarde"):
                call_command("backup", "verify", str(vault.out))
            damaged.write_bytes(good)
    assert _verify(vault) == [(written.snapshot, None)]


def test_it_names_the_bad_archive_among_good_ones(practice_data, vault):
    [first] = service.run(vault.out)
    [second] = service.run(vault.out)
    bad = vault.out / second.snapshot
    bad.write_bytes(bad.read_bytes()[:-100])  # truncated
    results = dict(_verify(vault))
    assert results[first.snapshot] is None
    assert second.snapshot in results[second.snapshot]
    assert Event.objects.filter(action=Ev.BACKUP_VERIFIED, outcome="failure").exists()


def test_a_damaged_newest_snapshot_makes_the_next_run_send_everything_again(practice_data, vault):
    [first] = service.run(vault.out)
    _flip(vault.out / first.snapshot, 300)
    [second] = service.run(vault.out)
    assert (second.sent, second.reused) == (3, 0)
    assert dict(_verify(vault))[second.snapshot] is None


def test_a_missing_pack_is_named(practice_data, vault):
    [written] = service.run(vault.out)
    [pack] = (vault.out / "packs").iterdir()
    pack.unlink()
    [(_, reason)] = _verify(vault)
    assert "paquet de documents manquant" in reason


def test_it_refuses_a_wrong_identity(practice_data, vault, tmp_path):
    [written] = service.run(vault.out)
    other = tmp_path / "other.txt"
    other.write_text(backuparchive.generate_identity()[0] + "\n")
    [(_, reason)] = service.verify(service.directory_location(vault.out), identity_path=other)
    assert "identité de sauvegarde ne l'ouvre pas" in reason


def test_it_leaves_earlier_backups_valid_when_killed(practice_data, vault):
    [earlier] = service.run(vault.out)
    # A pack to write (a blob is named like the document store names them: 32 hex digits).
    (vault.data_dir / "documents" / ("e" * 32)).write_bytes(b"new document" * 1000)
    if connection.vendor == "sqlite":
        copy_test_database(vault.data_dir)  # the in-memory test database as a file for the subprocess
    env = {
        **os.environ,
        "HYGIE_DATA_DIR": str(vault.data_dir),
        "HYGIE_DATABASE_URL": database_url() if connection.vendor == "postgresql" else "",
        "HYGIE_KEY_FILE": str(vault.key_file),
        "HYGIE_CHECKPOINT_FILE": str(vault.key_file.parent / "journal-checkpoints.jsonl"),
        service.DELAY_ENV: "0.5",  # sleeps after each member: the run is still going when killed
    }
    proc = subprocess.Popen([sys.executable, "-m", "hygie.cli", "backup", "run", "--to", str(vault.out)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not list(vault.out.rglob(".*.partial")):
            assert proc.poll() is None and time.monotonic() < deadline, "the backup never started"
            time.sleep(0.05)
        time.sleep(0.7)
        assert proc.poll() is None, "the backup finished before it was killed"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert backuparchive.snapshots(service.directory_location(vault.out).store.list()) == [earlier.snapshot]
    assert _verify(vault) == [(earlier.snapshot, None)]
    # The next run completes; the leftover is never taken for a backup.
    [after] = service.run(vault.out)
    assert dict(_verify(vault)) == {earlier.snapshot: None, after.snapshot: None}


class _FullDisk:
    """A destination file that fills up after a few kilobytes (no OS descriptor: the archive
    reaches it through the copying thread, as for SFTP or S3)."""

    def __init__(self, real):
        self.real = real
        self.written = 0

    def write(self, data):
        self.written += len(data)
        if self.written > 4096:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real.write(data)

    def flush(self):
        self.real.flush()


def test_it_reports_a_full_disk_and_removes_the_partial_file(practice_data, vault, monkeypatch):
    real_writer = DirectoryStore.writer

    @contextlib.contextmanager
    def filling_writer(self, name):
        with real_writer(self, name) as out:
            yield _FullDisk(out)

    monkeypatch.setattr(DirectoryStore, "writer", filling_writer)
    with pytest.raises(service.BackupError, match="Disque plein"):
        service.run(vault.out)
    assert [p for p in vault.out.rglob("*") if p.is_file()] == []
    assert Event.objects.filter(action=Ev.BACKUP_FAILED).exists()
    run = Run.objects.get()
    assert run.status == RunStatus.FAILURE and "Disque plein" in run.message


def test_a_full_disk_written_by_the_encrypting_process_is_reported_as_such(tmp_path):
    """A local file is written by the age child process itself: its ENOSPC comes back as one."""
    secret, recipient = backuparchive.generate_identity()
    member = tmp_path / "blob"
    member.write_bytes(os.urandom(300_000))
    with open("/dev/full", "wb") as full, pytest.raises(OSError) as caught:
        backuparchive.write_pack(
            full, [backuparchive.Member("documents/blob", member)], recipients=[recipient],
            signing_key=os.urandom(32), meta={},
        )  # fmt: skip
    assert caught.value.errno == errno.ENOSPC


def test_it_reports_a_missing_target(practice_data, vault):
    with pytest.raises(CommandError, match="Dossier de destination introuvable"):
        call_command("backup", "run", "--to", str(vault.root / "unplugged"))
    assert Event.objects.filter(action=Ev.BACKUP_FAILED).exists()

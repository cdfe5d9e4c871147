"""What must not go wrong: a corrupted archive, a killed run, a full disk."""

from __future__ import annotations

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
from hygie.lib import backuparchive
from tests.backups.conftest import copy_test_database, database_url


def test_it_detects_one_flipped_byte_anywhere(practice_data, vault):
    archive = service.run(vault.out)
    good = archive.read_bytes()
    # In the age header, in the first payload chunk, in the middle, on the very last byte.
    for offset in (20, 300, len(good) // 2, len(good) - 1):
        damaged = bytearray(good)
        damaged[offset] ^= 0x01
        archive.write_bytes(bytes(damaged))
        [(path, reason)] = service.verify(archive)
        assert reason is not None and archive.name in reason, offset
        with pytest.raises(CommandError, match="1 sauvegarde"):
            call_command("backup", "verify", str(vault.out))
    archive.write_bytes(good)
    assert service.verify(vault.out) == [(archive, None)]


def test_it_names_the_bad_archive_among_good_ones(practice_data, vault):
    first = service.run(vault.out)
    second = service.run(vault.out)
    second.write_bytes(second.read_bytes()[:-100])  # truncated
    results = dict(service.verify(vault.out))
    assert results[first] is None
    assert second.name in results[second]
    assert Event.objects.filter(action=Ev.BACKUP_VERIFIED, outcome="failure").exists()


def test_it_refuses_a_wrong_identity(practice_data, vault, tmp_path):
    archive = service.run(vault.out)
    other = tmp_path / "other.txt"
    other.write_text(backuparchive.generate_identity()[0] + "\n")
    [(_, reason)] = service.verify(archive, identity_path=other)
    assert "identité de sauvegarde ne l'ouvre pas" in reason


def test_it_leaves_earlier_backups_valid_when_killed(practice_data, vault):
    earlier = service.run(vault.out)
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
        while not list(vault.out.glob(".*.partial")):
            assert proc.poll() is None and time.monotonic() < deadline, "the backup never started"
            time.sleep(0.05)
        time.sleep(0.7)
        assert proc.poll() is None, "the backup finished before it was killed"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert backuparchive.list_archives(vault.out) == [earlier]
    assert service.verify(vault.out) == [(earlier, None)]


def test_it_reports_a_full_disk_and_removes_the_partial_file(practice_data, vault, monkeypatch):
    def full_disk(source, out, recipients):
        out.write(b"age-encryption.org/v1\n")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(backuparchive.pyrage, "encrypt_io", full_disk)
    with pytest.raises(service.BackupError, match="Disque plein"):
        service.run(vault.out)
    assert list(vault.out.iterdir()) == []
    assert Event.objects.filter(action=Ev.BACKUP_FAILED).exists()


def test_it_reports_a_missing_target(practice_data, vault):
    with pytest.raises(CommandError, match="Dossier de destination introuvable"):
        call_command("backup", "run", "--to", str(vault.root / "unplugged"))

"""Backup → the stock `age` CLI opens it → restore into a new data dir → same data."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups import service
from hygie.patients import actions
from tests.backups.conftest import table_counts


def _live_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - test tables
        return cursor.fetchone()[0]


def _restore(vault, target) -> None:
    args = ["backup", "restore", str(vault.out), "--to", str(target.data_dir)]
    if target.database_url:
        args += ["--database-url", target.database_url]
    call_command(*args)


def test_it_round_trips_through_the_age_cli(practice_data, vault, restore_target, tmp_path):
    before = table_counts(_live_count)
    archive = service.run(vault.out)
    assert archive.name.startswith("hygie-backup-") and archive.suffix == ".age"
    assert Event.objects.filter(action=Ev.BACKUP_COMPLETED).exists()

    # Without Hygie: the Debian `age` tool and the identity file (the kit's AGE-SECRET-KEY-1… line).
    plain = tmp_path / "backup.tar"
    subprocess.run(["/usr/bin/age", "-d", "-i", str(vault.identity_file), "-o", str(plain), str(archive)], check=True)
    listing = subprocess.run(["tar", "-tf", str(plain)], check=True, capture_output=True, text=True).stdout.split()
    assert "MANIFEST.json" in listing and "MANIFEST.sig" in listing
    database = service.PG_MEMBER if connection.vendor == "postgresql" else service.SQLITE_MEMBER
    assert database in listing
    assert sum(name.startswith("documents/") for name in listing) == 3

    call_command("backup", "verify", str(vault.out))

    _restore(vault, restore_target)
    assert table_counts(restore_target.count) == before
    assert len(list((restore_target.data_dir / "documents").iterdir())) == 3
    assert restore_target.count("audit_event", f"WHERE action = '{Ev.RESTORE_COMPLETED}'") == 1

    # The restored journal verifies, opened by Hygie itself on the new data dir.
    env = {
        **os.environ,
        "HYGIE_DATA_DIR": str(restore_target.data_dir),
        "HYGIE_DATABASE_URL": restore_target.database_url,
        "HYGIE_KEY_FILE": str(vault.key_file),
        "HYGIE_CHECKPOINT_FILE": str(vault.key_file.parent / "journal-checkpoints.jsonl"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "hygie.cli", "audit", "verify"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_erases_again_a_patient_erased_after_the_backup(practice_data, vault, restore_target):
    service.run(vault.out)
    erased = practice_data.alice_patient
    actions.erase_patient(actor=practice_data.alice, patient=erased)

    _restore(vault, restore_target)
    assert restore_target.count("patients_patient", f"WHERE id = {erased.pk}") == 0
    assert restore_target.count("keys_patientkey", f"WHERE patient_id = {erased.pk}") == 0
    assert restore_target.count("patients_patient", f"WHERE id = {practice_data.bob_patient.pk}") == 1


def test_it_refuses_a_non_empty_data_dir(practice_data, vault, tmp_path):
    service.run(vault.out)
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "hygie.sqlite3").write_bytes(b"precious")
    with pytest.raises(service.BackupError, match="n'est pas vide"):
        service.restore(vault.out, target)
    assert (target / "hygie.sqlite3").read_bytes() == b"precious"

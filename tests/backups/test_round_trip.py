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
from hygie.backups import restore, service
from hygie.backups.models import Run, RunStatus
from hygie.patients import actions
from tests.backups.conftest import table_counts


def _live_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - test tables
        return cursor.fetchone()[0]


def _restore(vault, target, *extra: str) -> None:
    args = ["backup", "restore", str(vault.out), "--to", str(target.data_dir), *extra]
    if target.database_url:
        args += ["--database-url", target.database_url]
    call_command(*args)


def _age_extract(vault, archive, into) -> list[str]:
    """Without Hygie: the Debian `age` tool, the identity file (the kit's AGE-SECRET-KEY-1…
    line) and tar."""
    into.mkdir(exist_ok=True)
    plain = into.parent / (archive.name + ".tar")
    subprocess.run(["/usr/bin/age", "-d", "-i", str(vault.identity_file), "-o", str(plain), str(archive)], check=True)
    listing = subprocess.run(["tar", "-tf", str(plain)], check=True, capture_output=True, text=True).stdout.split()
    subprocess.run(["tar", "-xf", str(plain), "-C", str(into)], check=True)
    return listing


def test_it_round_trips_through_the_age_cli(practice_data, vault, restore_target, tmp_path):
    before = table_counts(_live_count)
    [written] = service.run(vault.out)
    archive = vault.out / written.snapshot
    assert archive.name.startswith("hygie-backup-") and archive.suffix == ".age"
    assert written.sent == 3 and written.reused == 0
    assert Event.objects.filter(action=Ev.BACKUP_COMPLETED).exists()
    assert Run.objects.get(status=RunStatus.SUCCESS).details["sent"] == 3

    # The snapshot opens with age: manifest first, then the database.
    plain = tmp_path / "plain"
    listing = _age_extract(vault, archive, plain)
    assert listing[:2] == ["MANIFEST.json", "MANIFEST.sig"]
    database = service.PG_MEMBER if connection.vendor == "postgresql" else service.SQLITE_MEMBER
    assert database in listing
    # The documents are in packs that open the same way; every blob the manifest lists is there.
    [pack] = (vault.out / "packs").iterdir()
    pack_listing = _age_extract(vault, pack, plain)
    assert sum(name.startswith("documents/") for name in pack_listing) == 3
    blobs = sorted(p.name for p in (plain / "documents").iterdir())
    assert blobs == sorted(p.name for p in vault.data_dir.joinpath("documents").iterdir())

    call_command("backup", "verify", str(vault.out))

    _restore(vault, restore_target)
    assert table_counts(restore_target.count) == before
    assert len(list((restore_target.data_dir / "documents").iterdir())) == 3
    assert restore_target.count("audit_event", f"WHERE action = '{Ev.RESTORE_COMPLETED}'") == 1

    # The restored journal verifies, opened by Hygie itself on the new data dir, against the
    # checkpoints of the backup's time.
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


def test_it_sends_an_unchanged_document_only_once(practice_data, vault, restore_target):
    [first] = service.run(vault.out)
    [second] = service.run(vault.out)
    assert (second.sent, second.reused) == (0, 3)
    assert len(list((vault.out / "packs").iterdir())) == 1
    actions.upload_document(
        actor=practice_data.alice,
        patient=practice_data.alice_patient,
        title="Nouveau",
        kind="compte_rendu",
        fileobj=__import__("io").BytesIO(b"%PDF-1.4\n%%EOF\n" + b"x" * 1000),
    )
    [third] = service.run(vault.out)
    assert (third.sent, third.reused) == (1, 3)
    assert third.bytes_sent < 2000
    assert len(list((vault.out / "packs").iterdir())) == 2
    # Every snapshot restores whole: the newest needs both packs.
    assert [reason for _, reason in service.verify(service.directory_location(vault.out))] == [None] * 3
    _restore(vault, restore_target)
    assert len(list((restore_target.data_dir / "documents").iterdir())) == 4


def test_it_restores_an_older_snapshot_by_name(practice_data, vault, restore_target):
    [first] = service.run(vault.out)
    actions.erase_patient(actor=practice_data.bob, patient=practice_data.bob_patient)
    service.run(vault.out)
    _restore(vault, restore_target, "--snapshot", first.snapshot)
    # Bob's patient was in that snapshot, but was erased since: erased again on restore.
    assert restore_target.count("patients_patient", f"WHERE id = {practice_data.bob_patient.pk}") == 0
    assert restore_target.count("patients_patient", f"WHERE id = {practice_data.alice_patient.pk}") == 1


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
        restore.restore(service.directory_location(vault.out), target)
    assert (target / "hygie.sqlite3").read_bytes() == b"precious"


def test_a_failed_restore_leaves_no_half_restored_dir(practice_data, vault, restore_target):
    service.run(vault.out)
    [pack] = (vault.out / "packs").iterdir()
    pack.write_bytes(pack.read_bytes()[:-50])
    with pytest.raises(service.BackupError, match=pack.name):
        restore.restore(
            service.directory_location(vault.out), restore_target.data_dir, database_url=restore_target.database_url
        )
    assert not restore_target.data_dir.exists()
    if restore_target.database_url:  # PostgreSQL: the empty database given stays empty
        assert restore_target.count("information_schema.tables", "WHERE table_schema = 'public'") == 0

"""Backups of an installation whose documents are on S3-compatible object storage (moto).

The blobs are read from the object store as they are stored (sealed), packed like local ones,
and restore into the restored data dir's documents/ (see docs/operations.md for pushing them
back to a bucket)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from hygie.backups import service
from hygie.patients import actions, blobstore
from tests.backups.conftest import PDF
from tests.backups.test_round_trip import _age_extract, _restore
from tests.factories import Personas
from tests.patients.test_document_store_s3 import PREFIX, objects, use_store


@pytest.fixture
def s3_practice(transactional_db, vault, settings, s3_server):
    use_store(settings, s3_server)
    personas = Personas()
    for n in range(3):
        actions.upload_document(
            actor=personas.alice, patient=personas.alice_patient, title=f"CR {n}", kind="compte_rendu",
            fileobj=io.BytesIO(PDF + b"%" * n),
        )
    yield s3_server
    blobstore._store_for.cache_clear()


def test_a_backup_carries_the_documents_of_the_object_store(s3_practice, vault, restore_target, tmp_path):
    stored = {key.removeprefix(f"{PREFIX}/"): body for key, body in objects(s3_practice).items()}
    assert len(stored) == 3
    assert not (vault.data_dir / "documents").exists() or not any((vault.data_dir / "documents").iterdir())

    [written] = service.run(vault.out)
    assert (written.sent, written.reused) == (3, 0)
    [pack] = (vault.out / "packs").iterdir()
    plain = tmp_path / "plain"
    _age_extract(vault, pack, plain)
    assert {p.name: p.read_bytes() for p in (plain / "documents").iterdir()} == stored
    call_command("backup", "verify", str(vault.out))

    # Unchanged objects are not sent again (same size and upload time).
    [again] = service.run(vault.out)
    assert (again.sent, again.reused) == (0, 3)

    _restore(vault, restore_target)
    restored = {p.name: p.read_bytes() for p in (restore_target.data_dir / "documents").iterdir()}
    assert restored == stored


def test_a_backup_fails_clearly_when_the_object_store_is_down(s3_practice, vault, settings):
    from tests.backups.servers import free_port

    use_store(settings, s3_practice, endpoint=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(service.BackupError, match="Documents illisibles"):
        service.run(vault.out)

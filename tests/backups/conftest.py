from __future__ import annotations

import io
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from hygie.keys import service
from hygie.patients import actions
from tests.backups.servers import s3_server, sftp_server  # noqa: F401 - fixtures
from tests.factories import Personas, make_consultation

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class Vault:
    root: Path
    key_file: Path
    identity_file: Path
    data_dir: Path
    out: Path


@pytest.fixture
def vault(tmp_path, settings) -> Vault:
    """Key material, checkpoint file and documents of this test only, and a target directory."""
    keys = tmp_path / "keys"
    keys.mkdir()
    key_file = keys / "keys.json"
    shutil.copy(settings.KEY_FILE, key_file)
    settings.KEY_FILE = key_file
    settings.JOURNAL_CHECKPOINT_FILE = keys / "journal-checkpoints.jsonl"
    data_dir = tmp_path / "var"
    settings.DOCUMENTS_DIR = data_dir / "documents"
    out = tmp_path / "out"
    out.mkdir()
    service.reset()
    yield Vault(tmp_path, key_file, keys / "backup-identity.txt", data_dir, out)
    service.reset()


@pytest.fixture
def practice_data(transactional_db, vault):
    """The personas, a consultation and three documents, committed (backups see committed data)."""
    personas = Personas()
    make_consultation(personas.alice_patient, personas.alice)
    for n in range(3):
        actions.upload_document(
            actor=personas.alice,
            patient=personas.alice_patient if n else personas.bob_patient,
            title=f"Compte rendu {n}",
            kind="compte_rendu",
            fileobj=io.BytesIO(PDF + b"%" * n),
        )
    return personas


def database_url(name: str | None = None) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name or db['NAME']}"


def copy_test_database(data_dir: Path) -> None:
    """SQLite: the (in-memory) test database as a file, for a `hygie` subprocess."""
    data_dir.mkdir(parents=True, exist_ok=True)
    connection.ensure_connection()
    target = sqlite3.connect(data_dir / "hygie.sqlite3")
    connection.connection.backup(target)
    target.close()


@dataclass
class RestoreTarget:
    data_dir: Path
    database_url: str

    def count(self, table: str, where: str = "") -> int:
        sql = f"SELECT COUNT(*) FROM {table} {where}"  # noqa: S608 - test tables
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url) as conn:
                return conn.execute(sql).fetchone()[0]
        with sqlite3.connect(self.data_dir / "hygie.sqlite3") as conn:
            return conn.execute(sql).fetchone()[0]


@pytest.fixture
def restore_target(tmp_path):
    """A new data dir; on PostgreSQL also a new empty database, dropped afterwards."""
    data_dir = tmp_path / "restored"
    if connection.vendor != "postgresql":
        yield RestoreTarget(data_dir, "")
        return
    import psycopg

    name = f"hygie_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield RestoreTarget(data_dir, database_url(name))
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table_counts(counter) -> dict[str, int]:
    return {t: counter(t) for t in ("patients_patient", "patients_document", "patients_consultation", "accounts_user")}

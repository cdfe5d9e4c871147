"""Backups of the practice: take one, verify them, restore one into a new data dir.

What goes in (hygie.lib.backuparchive has the format): a consistent snapshot of the database
(SQLite online backup API, or `pg_dump --format=custom`), the document blobs as stored (already
encrypted), the erasure register, the journal checkpoint file and the journal's public signing
key. Not the key file: a backup and the keys must never travel together.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from hygie.audit import checkpoint, conf, journal
from hygie.audit.events import Ev, Outcome
from hygie.backups import identity
from hygie.core.actions import CLI_ROLE
from hygie.keys import service as key_service
from hygie.lib import backuparchive
from hygie.lib.backuparchive import ArchiveError, Member

PG_DUMP = "/usr/bin/pg_dump"
PG_RESTORE = "/usr/bin/pg_restore"
SQLITE_MEMBER = "database/hygie.sqlite3"
PG_MEMBER = "database/hygie.pgdump"
# Test-only: seconds to sleep after each member, so that a test can kill a run midway.
DELAY_ENV = "HYGIE_BACKUP_TEST_DELAY"


class BackupError(Exception):
    """French message for the user."""


Progress = Callable[[int], None]


def _no_progress(n: int) -> None:
    pass


# --- Taking a backup ------------------------------------------------------------------------


def _database_kind() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def _snapshot_sqlite(dest: Path) -> None:
    """The online backup API: a consistent copy while the practice keeps working."""
    connection.ensure_connection()
    target = sqlite3.connect(dest)
    try:
        connection.connection.backup(target)
    finally:
        target.close()


def _pg_env() -> dict[str, str]:
    db = connection.settings_dict
    env = {**os.environ, "PGDATABASE": str(db["NAME"])}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env


def _snapshot_postgresql(dest: Path) -> None:
    result = subprocess.run(  # noqa: S603 - fixed binary, arguments are ours
        [PG_DUMP, "--format=custom", "--no-owner", "--file", str(dest)],
        env=_pg_env(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump a échoué : {result.stderr.strip()[:500]}")


def _documents() -> list[Member]:
    root = Path(settings.DOCUMENTS_DIR)
    return [
        Member(f"documents/{p.relative_to(root).as_posix()}", p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    ]


def _members(tmp: Path) -> list[Member]:
    kind = _database_kind()
    if kind == "sqlite":
        db = tmp / "hygie.sqlite3"
        _snapshot_sqlite(db)
        members = [Member(SQLITE_MEMBER, db)]
    else:
        db = tmp / "hygie.pgdump"
        _snapshot_postgresql(db)
        members = [Member(PG_MEMBER, db)]
    # The blobs after the database: a document in the snapshot has its blob written already.
    members += _documents()
    for name, path in (
        ("keys/erasures.jsonl", key_service.erasure_file()),
        ("keys/journal-checkpoints.jsonl", conf.checkpoint_file()),
    ):
        if path.is_file():
            members.append(Member(name, path))
    return members


def _disk_error(exc: OSError, directory: Path) -> BackupError:
    if exc.errno == errno.ENOSPC:
        return BackupError(
            f"Disque plein : la sauvegarde ne tient pas dans {directory}. "
            "L'archive incomplète a été supprimée ; libérez de la place ou choisissez un autre support."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return BackupError(f"Écriture impossible dans {directory} : droits insuffisants ou support en lecture seule.")
    return BackupError(f"Écriture impossible dans {directory} ({exc.strerror}). L'archive incomplète a été supprimée.")


def _check_target(directory: Path) -> None:
    if not directory.is_dir():
        raise BackupError(f"Dossier de destination introuvable : {directory}. Branchez le support ou créez le dossier.")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BackupError(f"Dossier de destination non accessible en écriture : {directory}.")


def _record(action: Ev, outcome: Outcome = Outcome.SUCCESS, **details: object) -> None:
    with transaction.atomic():
        journal.record(action, actor_role=CLI_ROLE, outcome=outcome, details=details)


def run(directory: Path, *, progress: Progress = _no_progress, on_total: Callable[[int], None] | None = None) -> Path:
    """One backup into `directory`; returns the archive. Raises BackupError (journal event
    written either way)."""
    directory = directory.expanduser().resolve()
    try:
        _check_target(directory)
        recipients = identity.recipients()
        key = checkpoint.load_or_create_signing_key()
        # A pause between members lets the test suite kill a run half-way; test mode only.
        delay = float(os.environ.get(DELAY_ENV) or 0) if settings.HYGIE_ENV == "test" else 0.0
        tmp_root = Path(settings.DATA_DIR) / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(dir=tmp_root, prefix="backup-") as tmp:
            members = _members(Path(tmp))
            if on_total is not None:
                on_total(sum(m.path.stat().st_size for m in members))
            meta = {
                "created_at": datetime.now(UTC).isoformat(),
                "database": _database_kind(),
                "signing_public_key": key.public.hex(),
                "incremental": False,
            }
            try:
                archive = backuparchive.write(
                    directory,
                    members,
                    recipients=recipients,
                    signing_key=key.private,
                    meta=meta,
                    progress=progress,
                    between_members=(lambda: time.sleep(delay)) if delay else (lambda: None),
                )
            except OSError as exc:
                raise _disk_error(exc, directory) from None
    except (BackupError, ArchiveError, identity.IdentityMissing) as exc:
        _record(Ev.BACKUP_FAILED, Outcome.FAILURE, target=str(directory), error=str(exc)[:300])
        raise BackupError(str(exc)) from None
    _record(Ev.BACKUP_COMPLETED, archive=archive.name, size=archive.stat().st_size, members=len(members))
    return archive


# --- Verifying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    path: Path
    manifest: dict
    authenticated: bool  # signed by this practice's journal key (else: by the key it carries)


def _archives(path: Path) -> list[Path]:
    if path.is_dir():
        found = backuparchive.list_archives(path)
        if not found:
            raise BackupError(f"Aucune sauvegarde (hygie-backup-*.age) dans {path}.")
        return found
    if not path.exists():
        raise BackupError(f"Sauvegarde introuvable : {path}.")
    return [path]


def _identity(identity_path: Path | None) -> str:
    try:
        return identity.load(identity_path)
    except identity.IdentityMissing as exc:
        raise BackupError(str(exc)) from None
    except ArchiveError as exc:
        raise BackupError(str(exc)) from None


def check(path: Path, secret: str, *, extract_to: Path | None = None, progress: Progress = _no_progress) -> Verified:
    """Decrypt, check every member hash and the manifest signature. Raises ArchiveError."""
    checked = backuparchive.read(path, secret, extract_to=extract_to, progress=progress)
    embedded = bytes.fromhex(str(checked.manifest.get("signing_public_key", "")))
    authenticated = False
    if conf.signing_key_file().exists():
        public = checkpoint.load_signing_key().public
        authenticated = public == embedded
    else:
        public = embedded
    if not public or not backuparchive.check_signature(checked.manifest_raw, checked.signature, public):
        raise ArchiveError(
            f"Sauvegarde {path} : signature du manifeste invalide (archive altérée ou d'un autre cabinet)."
        )
    return Verified(path, checked.manifest, authenticated)


def verify(path: Path, *, identity_path: Path | None = None) -> list[tuple[Path, str | None]]:
    """(archive, None if good else the French reason), for one archive or every one of a dir."""
    secret = _identity(identity_path)
    results: list[tuple[Path, str | None]] = []
    for archive in _archives(path):
        try:
            check(archive, secret)
            results.append((archive, None))
        except ArchiveError as exc:
            results.append((archive, str(exc)))
    bad = [p.name for p, reason in results if reason]
    _record(
        Ev.BACKUP_VERIFIED,
        Outcome.FAILURE if bad else Outcome.SUCCESS,
        archives=len(results),
        failed=bad,
    )
    return results


# --- Restoring --------------------------------------------------------------------------------


def _empty_target(data_dir: Path) -> None:
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise BackupError(
            f"Le répertoire {data_dir} n'est pas vide : la restauration se fait dans un répertoire neuf, "
            "pour ne jamais écraser des données."
        )


def _install_if_missing(source: Path, dest: Path) -> bool:
    """A register or checkpoint file from the backup, only on a machine that has none (new
    machine): the current ones are append-only and know more."""
    if not source.is_file() or dest.exists():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copyfile(source, dest)
    os.chmod(dest, 0o600)
    return True


def _pg_restore(dump: Path, database_url: str) -> None:
    result = subprocess.run(  # noqa: S603 - fixed binary, arguments are ours
        [PG_RESTORE, "--no-owner", "--exit-on-error", "--dbname", database_url, str(dump)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore a échoué : {result.stderr.strip()[:500]}")


def _hygie(args: list[str], data_dir: Path, database_url: str) -> None:
    """A Hygie command on the restored data (a separate process: other database, other dir)."""
    env = {
        **os.environ,
        "HYGIE_DATA_DIR": str(data_dir),
        "HYGIE_DATABASE_URL": database_url,
        "HYGIE_KEY_FILE": str(Path(settings.KEY_FILE).expanduser()),
        "HYGIE_CHECKPOINT_FILE": str(conf.checkpoint_file()),
    }
    result = subprocess.run(  # noqa: S603 - this interpreter, our own CLI
        [sys.executable, "-m", "hygie.cli", *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        command = " ".join(args)
        raise BackupError(f"« hygie {command} » a échoué sur les données restaurées : {result.stderr.strip()[-500:]}")


@dataclass(frozen=True)
class Restored:
    archive: Path
    data_dir: Path
    database: str
    installed: list[str]


def restore(
    path: Path,
    data_dir: Path,
    *,
    database_url: str = "",
    identity_path: Path | None = None,
    progress: Progress = _no_progress,
) -> Restored:
    secret = _identity(identity_path)
    archive = _archives(path)[-1]
    data_dir = data_dir.expanduser().resolve()
    _empty_target(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = data_dir / "tmp" / "restore"
    staging.mkdir(parents=True, mode=0o700)
    try:
        verified = check(archive, secret, extract_to=staging, progress=progress)
    except ArchiveError as exc:
        shutil.rmtree(data_dir / "tmp", ignore_errors=True)
        raise BackupError(str(exc)) from None
    kind = verified.manifest.get("database")
    if kind == "postgresql":
        if not database_url:
            raise BackupError(
                "Cette sauvegarde vient de PostgreSQL : indiquez --database-url postgresql://… "
                "(une base vide, créée au préalable)."
            )
        _pg_restore(staging / PG_MEMBER, database_url)
    else:
        if database_url:
            raise BackupError("Cette sauvegarde vient de SQLite : restauration dans PostgreSQL non prise en charge.")
        os.replace(staging / SQLITE_MEMBER, data_dir / "hygie.sqlite3")
    if (staging / "documents").is_dir():
        os.replace(staging / "documents", data_dir / "documents")
    installed = []
    if _install_if_missing(staging / "keys" / "erasures.jsonl", key_service.erasure_file()):
        installed.append(str(key_service.erasure_file()))
    if _install_if_missing(staging / "keys" / "journal-checkpoints.jsonl", conf.checkpoint_file()):
        installed.append(str(conf.checkpoint_file()))
    # The backup's own copies stay for reference, readable by the owner only.
    if (staging / "keys").is_dir():
        os.replace(staging / "keys", data_dir / "restored-from-backup")
    shutil.rmtree(data_dir / "tmp", ignore_errors=True)
    (data_dir / "tmp").mkdir(mode=0o700)
    # Schema of this version, then the CURRENT erasure register: a patient erased after the
    # backup was taken is erased again before anyone opens the restored data.
    _hygie(["migrate", "--no-input", "-v", "0"], data_dir, database_url)
    _hygie(["backup", "finish-restore", "--archive", archive.name], data_dir, database_url)
    return Restored(archive, data_dir, str(kind), installed)


def finish_restore(archive_name: str) -> list[int]:
    """Run inside the restored installation: erasures again, and a journal event."""
    from hygie.patients.actions import reapply_erasures

    done = reapply_erasures()
    _record(Ev.RESTORE_COMPLETED, archive=archive_name, erasures_reapplied=len(done))
    return done

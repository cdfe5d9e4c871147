"""Restoring a backup into a new data dir, and the restore test.

A restore never writes over anything: the data dir must be new (or empty), a PostgreSQL
database empty, an S3 document store given with --document-store an empty prefix. After the
database is in place, a separate `hygie` process on the restored data (started at the
beginning, waiting to be told to go) applies this version's migrations if the backup's schema
is older, and then the CURRENT erasure register: a patient erased after the backup was taken
is erased again before anyone opens the restored data.

The restore test (`hygie backup test-restore`, monthly by the worker) does the whole restore
into a scratch directory (and a scratch PostgreSQL database), opens the restored database,
compares its counts with those the backup recorded, verifies the restored journal, decrypts
sample documents with the keys of this machine, records the result, then deletes the scratch.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

from hygie.audit import conf
from hygie.audit.events import Ev, Outcome
from hygie.backups import service
from hygie.backups.models import Run, RunKind, RunStatus, Target
from hygie.backups.service import BackupError, Location, Progress, _no_progress
from hygie.backups.stores import StoreError
from hygie.keys import service as key_service
from hygie.lib import backuparchive
from hygie.lib.backuparchive import ArchiveError


def locate(path: Path | None = None, *, target: Target | None = None) -> tuple[Location, str | None]:
    """Where to restore from: a directory (its newest snapshot), one snapshot file (its packs
    are in the `packs/` folder next to it), or a configured target."""
    if target is not None:
        return service.target_location(target), None
    assert path is not None
    path = path.expanduser()
    if path.is_file():
        return service.directory_location(path.parent), path.name
    if path.is_dir():
        return service.directory_location(path), None
    raise BackupError(f"Sauvegarde introuvable : {path}.")


def newest(loc: Location) -> str:
    try:
        names = backuparchive.snapshots(loc.store.list())
    except StoreError as exc:
        raise BackupError(str(exc)) from None
    if not names:
        raise BackupError(f"Aucune sauvegarde (hygie-backup-*.age) dans {loc.label}.")
    return names[-1]


def _is_empty(path: Path) -> bool:
    """Nothing in it but empty folders (the skeleton any `hygie` command creates)."""
    return path.is_dir() and all(_is_empty(child) for child in path.iterdir())


def _empty_target(data_dir: Path) -> None:
    if data_dir.exists() and not _is_empty(data_dir):
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
        ["/usr/bin/pg_restore", "--no-owner", "--exit-on-error", "--dbname", database_url, str(dump)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore a échoué : {result.stderr.strip()[:500]}")


def _env(data_dir: Path, database_url: str, checkpoints: Path | None, extra: dict[str, str] | None) -> dict[str, str]:
    return {
        **os.environ,
        "HYGIE_DATA_DIR": str(data_dir),
        "HYGIE_DATABASE_URL": database_url,
        "HYGIE_KEY_FILE": str(Path(settings.KEY_FILE).expanduser()),
        "HYGIE_CHECKPOINT_FILE": str(checkpoints or conf.checkpoint_file()),
        # The restored documents: in its documents/ folder, not the object store this
        # installation may use (a restore test must read the copy, never the originals).
        "HYGIE_DOCUMENT_STORE": "",
        **(extra or {}),
    }


def _command(args: list[str]) -> list[str]:
    # The helper processes skip Django's system checks (a third of a Django start: every URL
    # module is imported): same code as this process; the restored installation runs them
    # when it is started (`hygie serve`). They run without the cyclic garbage collector
    # (hygie.backups.helper).
    return [sys.executable, "-m", "hygie.backups.helper", args[0], "--skip-checks", *args[1:]]


def _failed(args: list[str], stdout: str, stderr: str) -> BackupError:
    command = " ".join(args)
    detail = (stderr.strip() or stdout.strip())[-500:]
    return BackupError(f"« hygie {command} » a échoué sur les données restaurées : {detail}")


def _hygie(
    args: list[str],
    data_dir: Path,
    database_url: str,
    *,
    checkpoints: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> str:
    """A Hygie command on the restored data (a separate process: other database, other dir).
    `checkpoints`: the journal checkpoint file to use (default: this machine's)."""
    result = subprocess.run(  # noqa: S603 - this interpreter, our own CLI
        _command(args), env=_env(data_dir, database_url, checkpoints, extra_env), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise _failed(args, result.stdout, result.stderr)
    return result.stdout


class _Finisher:
    """`hygie backup finish-restore` on the restored data, started at once so that Python and
    Django load while the snapshot is read; it waits on its stdin, and touches the restored
    database only once told `go` (closed stdin without it: it exits, having done nothing)."""

    def __init__(self, name: str, data_dir: Path, database_url: str, documents: str = "") -> None:
        self.args = ["backup", "finish-restore", "--archive", name, *(["--documents", documents] if documents else [])]
        self.args.append("--wait")
        self.proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own CLI
            _command(self.args),
            env=_env(data_dir, database_url, None, None),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self) -> int:
        """Erasures re-applied; BackupError if the command failed."""
        out, err = self.proc.communicate("go\n")
        if self.proc.returncode != 0:
            raise _failed(self.args[:-1], out, err)
        return int(json.loads(out.strip().splitlines()[-1])["erasures_reapplied"])

    def cancel(self) -> None:
        """Not told to go (the restore failed): stopped, it never opened the database."""
        if self.proc.returncode is None:
            self.proc.kill()
            self.proc.communicate()


@dataclass(frozen=True)
class Restored:
    snapshot: str
    data_dir: Path
    database: str
    installed: list[str]
    manifest: dict
    erasures_reapplied: int
    documents_store: str = ""  # label of the object store the documents went to ("": documents/)


class DocumentStoreTarget:
    """An S3 document store (HYGIE_DOCUMENT_STORE=s3://…) a restore puts the documents in,
    as they are in the backup (sealed): `config` as hygie.lib.storeurl.document_store gives it.
    Never written over: its prefix must be empty. What this restore wrote is recorded, to be
    deleted again if the restore fails."""

    def __init__(self, config: dict[str, str]) -> None:
        from hygie.patients import blobstore

        self.config = config
        self.store = blobstore.S3DocumentStore(
            bucket=config["bucket"],
            prefix=config["prefix"],
            endpoint_url=config["endpoint"],
            region=config["region"],
            access_key=config["access_key"],
            secret_key=config["secret_key"],
        )
        self.label = self.store.label
        self.written: list[str] = []
        self.lock = threading.Lock()

    def url(self) -> str:
        return f"s3://{self.config['bucket']}/{self.config['prefix']}".rstrip("/")

    def env(self) -> dict[str, str]:
        """The settings of a Hygie process that reads its documents there."""
        return {
            "HYGIE_DOCUMENT_STORE": self.url(),
            "HYGIE_DOCUMENT_STORE_ENDPOINT": self.config["endpoint"],
            "HYGIE_DOCUMENT_STORE_REGION": self.config["region"],
            "HYGIE_DOCUMENT_STORE_ACCESS_KEY": self.config["access_key"],
            "HYGIE_DOCUMENT_STORE_SECRET_KEY": self.config["secret_key"],
        }

    def check_empty(self) -> None:
        backend = self.store.backend
        try:
            with backend._errors("liste des documents"):
                found = backend._client().list_objects_v2(Bucket=backend.bucket, Prefix=backend.prefix, MaxKeys=1)
        except StoreError as exc:
            raise BackupError(f"Stockage des documents inutilisable : {exc}") from None
        if found.get("KeyCount", len(found.get("Contents", ()))):
            raise BackupError(
                f"Le stockage de documents {self.label} n'est pas vide : la restauration y écrit sous un préfixe "
                "neuf, pour ne jamais écraser des documents."
            )

    def placer(self, local: backuparchive.Placer) -> backuparchive.Placer:
        """Document blobs to the store, anything else as `local` says."""

        def place(name: str) -> Callable[[], backuparchive.MemberSink] | None:
            if not name.startswith(DOCUMENTS):
                return local(name)
            blob = name.removeprefix(DOCUMENTS)
            return lambda: _Uploading(self, blob)

        return place

    def remove_written(self) -> None:
        for blob in self.written:
            with contextlib.suppress(Exception):
                self.store.delete(blob)
        self.written.clear()

    def check_readable(self, manifest: dict, sample: int) -> None:
        """A sample of the documents read back from the store, each with its SHA-256 from the
        manifest (they are decrypted end to end by `hygie backup test-restore`)."""
        from hygie.patients import blobstore

        documents = [d for d in manifest.get("documents", []) if str(d.get("name", "")).startswith(DOCUMENTS)]
        for doc in secrets.SystemRandom().sample(documents, min(sample, len(documents))):
            blob = str(doc["name"]).removeprefix(DOCUMENTS)
            try:
                data = self.store.read_whole(blob)
            except blobstore.StoreUnavailable as exc:
                raise BackupError(f"Documents restaurés illisibles sur {self.label} : {exc}") from None
            if data is None or hashlib.sha256(data).hexdigest() != doc.get("sha256"):
                raise BackupError(f"Document restauré absent ou différent sur {self.label} : {blob}.")

    def close(self) -> None:
        self.store.close()


class _Uploading:
    """One blob sent to the object store (complete or absent), recorded once complete."""

    def __init__(self, target: DocumentStoreTarget, blob: str) -> None:
        from hygie.patients import blobstore

        self.target = target
        self.blob = blob
        try:
            self.sink = target.store.create(blob)  # refuses an object that exists
        except blobstore.StoreUnavailable as exc:
            raise BackupError(f"Documents non restaurés sur {target.label} : {exc}") from None

    def write(self, data: bytes) -> None:
        from hygie.patients import blobstore

        try:
            self.sink.write(data)
        except blobstore.StoreUnavailable as exc:
            raise BackupError(f"Documents non restaurés sur {self.target.label} : {exc}") from None

    def commit(self) -> None:
        from hygie.patients import blobstore

        try:
            self.sink.commit()
        except blobstore.StoreUnavailable as exc:
            raise BackupError(f"Documents non restaurés sur {self.target.label} : {exc}") from None
        with self.target.lock:
            self.target.written.append(self.blob)

    def abort(self) -> None:
        self.sink.abort()


DOCUMENTS = "documents/"
RESTORED_SAMPLE = 5


def restore(
    loc: Location,
    data_dir: Path,
    *,
    snapshot: str | None = None,
    database_url: str = "",
    identity_path: Path | None = None,
    progress: Progress = _no_progress,
    document_store: DocumentStoreTarget | None = None,
) -> Restored:
    """Restore `snapshot` (default: the newest) of `loc` into the new data dir (the documents
    into `document_store` if given, an empty S3 prefix). On any failure the data dir is left as
    it was found (removed if this created it), and the documents this restore put in the store
    are deleted."""
    secret = service.load_identity(identity_path)
    name = snapshot or newest(loc)
    data_dir = data_dir.expanduser().resolve()
    _empty_target(data_dir)
    if document_store is not None:
        document_store.check_empty()
    created = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Empty skeleton folders are replaced by the restored ones.
    for child in list(data_dir.iterdir()):
        shutil.rmtree(child)
    try:
        with _collector_spared():
            return _restore_into(loc, name, secret, data_dir, database_url, progress, document_store)
    except BaseException:
        if created:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            for child in data_dir.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        if document_store is not None:
            document_store.remove_written()
        raise


@contextlib.contextmanager
def _collector_spared() -> Iterator[None]:
    """The objects that exist now (Django's, a few hundred thousand) out of the cyclic garbage
    collector's way while the packs are read: otherwise each of its passes walks them all again.
    Measured on the --quick bench (2,000 documents): 0.25 s of collections during the pack read,
    one of them full. Given back to it at the end (nothing they hold is kept for good)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _restore_into(
    loc: Location,
    name: str,
    secret: str,
    data_dir: Path,
    database_url: str,
    progress: Progress,
    document_store: DocumentStoreTarget | None,
) -> Restored:
    """Members land under the data dir as they are named in the archives (documents/… in place,
    or in the object store). `finish-restore` is started at once in a separate process (Python
    and Django load meanwhile) and told to go when the database is in place: for SQLite as soon
    as the snapshot is checked, while the document packs are still being read; PostgreSQL once
    every pack checked out (the database given is not ours to empty again)."""
    database = data_dir / "database"
    finisher = _Finisher(name, data_dir, database_url, document_store.label if document_store else "")
    outcome: dict = {}
    finishing: list[threading.Thread] = []

    def finish(kind: str | None) -> None:
        try:
            if kind == "postgresql":
                dump = database / Path(service.PG_MEMBER).name
                _pg_restore(dump, database_url)
                dump.unlink()
            outcome["reapplied"] = finisher.run()
        except BaseException as exc:  # raised again by the main thread
            outcome["error"] = exc

    def database_ready(manifest: dict) -> None:
        kind = manifest.get("database")
        if kind == "postgresql" and not database_url:
            raise BackupError(
                "Cette sauvegarde vient de PostgreSQL : indiquez --database-url postgresql://… "
                "(une base vide, créée au préalable)."
            )
        if kind != "postgresql" and database_url:
            raise BackupError("Cette sauvegarde vient de SQLite : restauration dans PostgreSQL non prise en charge.")
        outcome["kind"] = kind
        if kind != "postgresql":
            os.replace(database / Path(service.SQLITE_MEMBER).name, data_dir / "hygie.sqlite3")
            # SQLite: all of it is in the new data dir, removed if a pack then fails.
            thread = threading.Thread(target=finish, args=(kind,), name="restore-finish", daemon=True)
            finishing.append(thread)
            thread.start()

    documents_to = document_store.placer(backuparchive.files_under(data_dir)) if document_store else None
    try:
        try:
            verified = service.check_snapshot(
                loc,
                name,
                secret,
                extract_to=data_dir,
                progress=progress,
                on_snapshot=database_ready,
                documents_to=documents_to,
            )
        except ArchiveError as exc:
            raise BackupError(str(exc)) from None
        finally:
            for thread in finishing:
                thread.join()
        if not finishing:
            finish(outcome.get("kind"))
        if "error" in outcome:
            raise outcome["error"]
    finally:
        finisher.cancel()
    if document_store is not None:
        document_store.check_readable(verified.manifest, RESTORED_SAMPLE)
    shutil.rmtree(database, ignore_errors=True)
    (data_dir / "documents").mkdir(mode=0o700, exist_ok=True)
    installed = []
    backup_keys = data_dir / "keys"
    if _install_if_missing(backup_keys / "erasures.jsonl", key_service.erasure_file()):
        installed.append(str(key_service.erasure_file()))
    if _install_if_missing(backup_keys / "journal-checkpoints.jsonl", conf.checkpoint_file()):
        installed.append(str(conf.checkpoint_file()))
    # The backup's own copies stay for reference, readable by the owner only.
    if backup_keys.is_dir():
        os.replace(backup_keys, data_dir / "restored-from-backup")
    for folder in ("tmp", "logs"):
        (data_dir / folder).mkdir(mode=0o700, exist_ok=True)
    return Restored(
        name,
        data_dir,
        str(verified.manifest.get("database")),
        installed,
        verified.manifest,
        outcome["reapplied"],
        document_store.label if document_store else "",
    )


def finish_restore(archive_name: str, documents: str = "") -> dict:
    """Run inside the restored installation: this version's migrations, then the erasures
    again, runs left "running" by the snapshot closed, and a journal event. One process for
    all of it (each Django start costs a second)."""
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    from hygie.patients.actions import reapply_erasures

    # A backup of this very version needs no migration: `migrate` is skipped then (it would
    # only re-emit its signals, a few tenths of a second).
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)

    done = reapply_erasures()
    Run.objects.filter(status__in=[RunStatus.RUNNING, RunStatus.QUEUED]).update(
        status=RunStatus.FAILURE, message="Interrompue : état repris d'une sauvegarde."
    )
    where = {"documents": documents} if documents else {}  # the object store they went to
    service.record(Ev.RESTORE_COMPLETED, archive=archive_name, erasures_reapplied=len(done), **where)
    return {"erasures_reapplied": len(done)}


def check_restored(sample: int) -> dict:
    """Run inside the restored installation: table counts, and `sample` documents decrypted
    end to end with this machine's keys (bytes counted, never kept)."""
    from hygie.access import records
    from hygie.patients import documents

    counts = {}
    with connection.cursor() as cursor:
        for table in service.COUNTED:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed table names
            counts[table] = cursor.fetchone()[0]
    decrypted = 0
    failures = 0
    for doc in records.restore_test_documents(sample):
        try:
            with documents.open_blob(doc.storage_name, patient=doc.patient) as fh:
                while fh.read(1024 * 1024):
                    pass
            decrypted += 1
        except Exception:  # any failure counts; the type alone is reported (no data in it)
            failures += 1
    return {"counts": counts, "documents_decrypted": decrypted, "documents_failed": failures}


# --- The restore test -----------------------------------------------------------------------------


def _scratch_database() -> tuple[str, str]:
    """(url, name to drop or "") of an empty PostgreSQL database for the test."""
    if settings.RESTORE_TEST_DATABASE_URL:
        return settings.RESTORE_TEST_DATABASE_URL, ""
    import psycopg
    from psycopg import sql

    db = connection.settings_dict
    name = f"hygie_restore_test_{secrets.token_hex(5)}"
    auth = str(db["USER"] or "") + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    netloc = f"{auth}@" if auth else ""
    netloc += f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    admin_url = urlunsplit(("postgresql", netloc, "/postgres", "", ""))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error:
        raise BackupError(
            "Impossible de créer une base PostgreSQL temporaire pour le test de restauration : donnez le "
            "droit CREATEDB au compte de Hygie, ou indiquez HYGIE_RESTORE_TEST_DATABASE_URL (base vide)."
        ) from None
    return urlunsplit(("postgresql", netloc, f"/{name}", "", "")), name


def _drop_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.Error:
        pass


def _source_for_test(target: Target | None) -> Location:
    if target is not None:
        return service.target_location(target)
    candidates = sorted(service.enabled_targets(), key=lambda t: (not t.offsite, t.name))
    if not candidates:
        raise BackupError("Aucune destination de sauvegarde configurée : rien à tester.")
    return service.target_location(candidates[0])


SAMPLE_DOCUMENTS = 5


def test_restore(
    *,
    target: Target | None = None,
    path: Path | None = None,
    queued: Run | None = None,
    cli: Progress = _no_progress,
    document_store: DocumentStoreTarget | None = None,
) -> dict:
    """Restore the newest backup of a destination (default: the first off-site target) into a
    scratch directory and check it. Returns the figures; BackupError if anything is off (Run
    row, journal event and alert either way). With `document_store` (an empty S3 prefix), the
    documents go there and the sample is decrypted from there; they are deleted afterwards."""
    # « Isoler Hygie »: no destination is reached for a test while the practice is isolated.
    service.refuse_during_lockdown(queued)
    run = None
    try:
        loc, snapshot = locate(path) if path is not None else (_source_for_test(target), None)
    except BackupError as exc:
        if queued is not None:
            service.finish_run(service.start_run(RunKind.TEST_RESTORE, queued=queued), str(exc))
        service.record(Ev.RESTORE_TEST_FAILED, Outcome.FAILURE, error=str(exc)[:300])
        raise
    try:
        run = service.start_run(RunKind.TEST_RESTORE, loc, queued=queued)
        progress = service.RunProgress(run, cli)
        scratch = Path(settings.DATA_DIR) / "tmp" / f"restore-test-{secrets.token_hex(6)}"
        database_url, drop = ("", "")
        if connection.vendor == "postgresql":
            database_url, drop = _scratch_database()
        try:
            restored = restore(
                loc,
                scratch,
                snapshot=snapshot,
                database_url=database_url,
                progress=progress,
                document_store=document_store,
            )
            found = json.loads(
                _hygie(
                    ["backup", "check-restored", "--sample", str(SAMPLE_DOCUMENTS)],
                    scratch,
                    database_url,
                    extra_env=document_store.env() if document_store else None,
                )
                .strip()
                .splitlines()[-1]
            )
            # Against the checkpoints of the backup's time: this machine's file goes further (the
            # journal went on after the backup), which would read as a truncation.
            backup_checkpoints = scratch / "restored-from-backup" / "journal-checkpoints.jsonl"
            _hygie(["audit", "verify"], scratch, database_url, checkpoints=backup_checkpoints)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if document_store is not None:
                document_store.remove_written()
            if drop:
                _drop_database(database_url, drop)
        result = _compare(restored, found)
    except (BackupError, StoreError, OSError) as exc:
        message = (
            str(exc)
            if not isinstance(exc, OSError) or isinstance(exc, StoreError)
            else (f"Test de restauration impossible ({exc.strerror}).")
        )
        if run is not None:
            service.finish_run(run, message)
        service.record(Ev.RESTORE_TEST_FAILED, Outcome.FAILURE, location=loc.label, error=message[:300])
        raise BackupError(message) from None
    finally:
        loc.close()
    service.finish_run(run, **result)
    service.record(Ev.RESTORE_TEST_PASSED, location=loc.label, **result)
    return result


def _compare(restored: Restored, found: dict) -> dict:
    expected = restored.manifest.get("counts", {})
    got = found["counts"]
    reapplied = restored.erasures_reapplied
    problems = []
    for table, count in expected.items():
        have = got.get(table)
        if table == "audit_event":
            # The restore itself appends events (restored, erasures re-applied).
            ok = have is not None and have >= count
        elif reapplied and table.startswith("patients_"):
            ok = have is not None and have <= count  # patients erased since: fewer rows
        else:
            ok = have == count
        if not ok:
            problems.append(f"{table} : {have} au lieu de {count}")
    if found["documents_failed"]:
        problems.append(f"{found['documents_failed']} document(s) indéchiffrable(s)")
    expected_docs = min(SAMPLE_DOCUMENTS, got.get("patients_document", 0))
    if found["documents_decrypted"] < expected_docs:
        problems.append("documents d'échantillon non déchiffrés")
    if problems:
        raise BackupError(f"Test de restauration de {restored.snapshot} en échec : " + " ; ".join(problems) + ".")
    return {
        "archive": restored.snapshot,
        "patients": got.get("patients_patient", 0),
        "documents": got.get("patients_document", 0),
        "documents_decrypted": found["documents_decrypted"],
        "erasures_reapplied": reapplied,
    }

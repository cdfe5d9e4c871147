"""Taking backups, checking them, and keeping their generations.

What goes in (hygie.lib.backuparchive has the format): a consistent snapshot of the database
(SQLite online backup API, or `pg_dump --format=custom`), the document blobs as stored (already
encrypted; only those the destination does not hold yet, in a new pack), the erasure register,
the journal checkpoint file. Not the key file: a backup and the keys never travel together.

A destination ("location") is a configured Target (directory, SFTP, S3) or a one-off directory
(`hygie backup run --to DOSSIER`). The destination itself is the truth about what it holds: a
run reads the manifest at the head of the newest snapshot there; the Snapshot table is only a
cache of pack lists for pruning. Restoring is in hygie.backups.restore.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from hygie.audit import checkpoint, conf, journal
from hygie.audit.events import Ev, Outcome
from hygie.backups import identity, packreader
from hygie.backups.models import Run, RunKind, RunStatus, Snapshot, Target
from hygie.backups.stores import RetentionLocked, Store, StoreError
from hygie.backups.stores.directory import DirectoryStore, disk_error
from hygie.core.actions import CLI_ROLE
from hygie.keys import erasure
from hygie.keys import service as key_service
from hygie.lib import backuparchive, generations
from hygie.lib.backuparchive import ArchiveError, Member
from hygie.patients import blobstore
from hygie.worker import runner

PG_DUMP = "/usr/bin/pg_dump"
SQLITE_MEMBER = "database/hygie.sqlite3"
PG_MEMBER = "database/hygie.pgdump"
# A pack is closed at this size and the next one started: object stores prefer bounded objects,
# and a restore reads several packs at once.
PACK_LIMIT = 256 * 1024 * 1024
# One per core, at least 3: reading a pack also waits on the disk or the network.
PACK_READERS = max(3, os.cpu_count() or 1)
# A pack that no snapshot references (a run killed after writing it) is deleted once this old.
ORPHAN_GRACE = timedelta(days=1)
# Test-only: seconds to sleep after each member, so that a test can kill a run midway.
DELAY_ENV = "HYGIE_BACKUP_TEST_DELAY"
# Tables counted into the manifest; a restore test compares them.
COUNTED = ("patients_patient", "patients_document", "patients_consultation", "accounts_user", "audit_event")


class BackupError(Exception):
    """French message for the user."""


Progress = Callable[[int], None]


def _no_progress(n: int) -> None:
    pass


# --- Destinations -------------------------------------------------------------------------------


@dataclass
class Location:
    key: str  # Snapshot.location: the target's public id, or the directory's resolved path
    store: Store
    label: str
    offsite: bool
    target: Target | None = None

    def close(self) -> None:
        self.store.close()


def directory_location(path: Path) -> Location:
    path = path.expanduser().resolve()
    store = DirectoryStore(path)
    return Location(str(path), store, store.label, offsite=False)


def target_location(target: Target) -> Location:
    from hygie.backups import targets

    try:
        store = targets.open_store(target)
    except (StoreError, key_service.KeysUnavailable) as exc:
        raise BackupError(f"Destination « {target.name} » inutilisable : {exc}") from None
    return Location(str(target.public_id), store, f"« {target.name} » ({store.label})", target.offsite, target)


@dataclass(frozen=True)
class Unusable:
    """A target that could not be opened (its secret cannot be read, its configuration is
    wrong): the French reason."""

    target: Target
    message: str


def enabled_targets() -> list[Target]:
    return list(Target.objects.filter(enabled=True).order_by("name"))


# --- Journal and runs ------------------------------------------------------------------------


def record(action: Ev, outcome: Outcome = Outcome.SUCCESS, **details: object) -> None:
    with transaction.atomic():
        journal.record(action, actor_role=CLI_ROLE, outcome=outcome, details=details)


def start_run(
    kind: str, location: Location | None = None, *, queued: Run | None = None, target: Target | None = None
) -> Run:
    """A RUNNING row linked to its destination: `location`, or only `target` when that
    destination could not even be opened. A QUEUED row (asked for from the page or the CLI) is
    taken over: it becomes the run to that destination."""
    if location is not None:
        target = location.target
    fields = {
        "kind": kind,
        "target": target,
        "location": (location.label if location else target.name if target else "")[:300],
        "offsite": location.offsite if location else target.offsite if target else False,
        "status": RunStatus.RUNNING,
        "started_at": timezone.now(),
    }
    # Which process runs it: if it is killed, the next backup job on this host sees it at once
    # (hygie.backups.jobs._close_stale).
    owner = {"owner": runner.owner_id()}
    if queued is not None:
        queued.details = {**(queued.details or {}), **owner}
        for name, value in fields.items():
            setattr(queued, name, value)
        queued.save()
        return queued
    return Run.objects.create(**fields, details=owner)


def finish_run(run: Run, error: str = "", **details: object) -> None:
    run.status = RunStatus.FAILURE if error else RunStatus.SUCCESS
    run.finished_at = timezone.now()
    run.message = error[:2000]
    run.details = {**run.details, **details}
    if not error and run.bytes_total:
        run.bytes_done = run.bytes_total
    run.save()


class RunProgress:
    """Feeds both the CLI bar and the Run row (the UI polls it), the latter at most once a second."""

    def __init__(self, run: Run | None, cli: Progress = _no_progress) -> None:
        self.run = run
        self.cli = cli
        self.done = 0
        self.saved_at = 0.0
        self.lock = threading.Lock()
        # The Run row is written from the thread that made it (threads reading packs side by
        # side only count).
        self.owner = threading.get_ident()

    def total(self, total: int) -> None:
        if self.run is not None:
            self.run.bytes_total = total
            Run.objects.filter(pk=self.run.pk).update(bytes_total=total)

    def __call__(self, n: int) -> None:
        with self.lock:
            self.done += n
            self.cli(n)
        self.flush()

    def flush(self) -> None:
        """Write the count to the Run row if a second went by, from the thread that made it
        (the others count only: their database connection would be another one)."""
        now = time.monotonic()
        if self.run is not None and now - self.saved_at >= 1.0 and threading.get_ident() == self.owner:
            self.saved_at = now
            Run.objects.filter(pk=self.run.pk).update(bytes_done=self.done)


# --- What a backup holds -------------------------------------------------------------------


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


def pg_env() -> dict[str, str]:
    db = connection.settings_dict
    env = {**os.environ, "PGDATABASE": str(db["NAME"])}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env


def _snapshot_postgresql(dest: Path) -> None:
    result = subprocess.run(  # noqa: S603 - fixed binary, arguments are ours
        [PG_DUMP, "--format=custom", "--no-owner", "--file", str(dest)],
        env=pg_env(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump a échoué : {result.stderr.strip()[:500]}")


def _counts() -> dict[str, int]:
    out = {}
    with connection.cursor() as cursor:
        for table in COUNTED:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed table names
            out[table] = cursor.fetchone()[0]
    return out


@dataclass(frozen=True)
class DocFile:
    name: str  # "documents/<blob name>"
    member: Member  # where to read it: a local file, or the object store
    size: int
    mtime_ns: int


def _read_blob(store: blobstore.S3DocumentStore, name: str) -> bytes | None:
    """A blob from the object store (at most the upload limit), None if erased meanwhile."""
    try:
        return store.read_whole(name)
    except blobstore.StoreUnavailable as exc:
        raise BackupError(f"Documents illisibles : {exc}") from None


def _documents() -> list[DocFile]:
    """Every blob of the document store (hygie.patients.blobstore), local or on object storage:
    read as stored (sealed), never decrypted."""
    store = blobstore.get_store()
    found = []
    try:
        for info in store.blobs():
            name = f"documents/{info.name}"
            if isinstance(store, blobstore.LocalStore):
                member = Member(name, store.path(info.name))
            else:
                member = Member(name, read=functools.partial(_read_blob, store, info.name), size=info.size)
            found.append(DocFile(name, member, info.size, info.mtime_ns))
    except blobstore.StoreUnavailable as exc:
        raise BackupError(f"Documents illisibles : {exc}") from None
    return found


@dataclass
class Prepared:
    """The part of a backup shared by every destination of a run."""

    members: list[tuple[Member, int, str]]
    documents: list[DocFile]
    counts: dict[str, int]
    database: str
    created_at: str


def prepare(tmp: Path) -> Prepared:
    created = datetime.now(UTC).isoformat()
    kind = _database_kind()
    counts = _counts()
    if kind == "sqlite":
        db = tmp / "hygie.sqlite3"
        _snapshot_sqlite(db)
        members = [Member(SQLITE_MEMBER, db)]
    else:
        db = tmp / "hygie.pgdump"
        _snapshot_postgresql(db)
        members = [Member(PG_MEMBER, db)]
    # The blobs are listed after the database snapshot: every document it knows has its blob
    # on disk already (a blob is written before its row is committed).
    documents = _documents()
    # The registers last: an erasure made during the run is in them, and a restore re-applies it.
    # An erasure committed by a process killed before it wrote the register file is added first.
    erasure.sync_file()
    for name, path in (
        ("keys/erasures.jsonl", key_service.erasure_file()),
        ("keys/journal-checkpoints.jsonl", conf.checkpoint_file()),
    ):
        if path.is_file():
            copy = tmp / Path(name).name
            copy.write_bytes(path.read_bytes())
            members.append(Member(name, copy))
    hashed = [(m, *backuparchive.file_sha256(m.path)) for m in members]
    return Prepared(hashed, documents, counts, kind, created)


# --- Reading what a destination holds ---------------------------------------------------------


@dataclass
class Held:
    """What a destination holds, from the manifest at the head of its newest snapshot."""

    listing: dict[str, int]
    # "documents/<name>" -> the snapshot's entry (size, mtime_ns, sha256, pack)
    documents: dict[str, dict] = field(default_factory=dict)
    newest: str = ""


def _public_key() -> bytes:
    return checkpoint.load_or_create_signing_key().public


def read_manifest(loc: Location, name: str, secret: str, public: bytes | None = None) -> dict:
    """A snapshot's manifest, signature checked (with this practice's journal key, or the key
    the manifest carries when this machine has none — a new machine)."""
    with loc.store.reader(name) as fh:
        manifest, raw, signature = backuparchive.read_manifest(fh, secret, label=f"{loc.label} : {name}")
    if public is None:
        public = _signing_public(manifest)
    if not backuparchive.check_signature(raw, signature, public):
        raise ArchiveError(
            f"{loc.label} : {name} : signature du manifeste invalide (archive altérée ou d'un autre cabinet)."
        )
    return manifest


def _signing_public(manifest: dict) -> bytes:
    if conf.signing_key_file().exists():
        return checkpoint.load_signing_key().public
    try:
        return bytes.fromhex(str(manifest.get("signing_public_key", "")))
    except ValueError:
        return b""


def held(loc: Location, secret: str, public: bytes) -> Held:
    listing = loc.store.list()
    result = Held(listing)
    # The newest snapshot whose manifest reads; one that does not (damaged) is skipped: its
    # documents are then sent again, which costs time but loses nothing.
    for name in reversed(backuparchive.snapshots(listing)):
        try:
            manifest = read_manifest(loc, name, secret, public)
        except (ArchiveError, StoreError):
            continue
        result.newest = name
        result.documents = {d["name"]: d for d in manifest.get("documents", []) if d.get("pack") in listing}
        _remember(loc, name, manifest, listing.get(name, 0))
        break
    return result


def _remember(loc: Location, name: str, manifest: dict, size: int) -> None:
    created = backuparchive.time_of(name) or timezone.now()
    Snapshot.objects.update_or_create(
        location=loc.key,
        name=name,
        defaults={
            "created_at": created,
            "size": size,
            "packs": sorted(manifest.get("packs", [])),
            "documents": len(manifest.get("documents", [])),
        },
    )


# --- Taking a backup ------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    location: Location
    snapshot: str
    size: int
    sent: int  # documents sent in new packs
    reused: int  # documents already on the destination
    bytes_sent: int


def _delay() -> Callable[[], None]:
    # A pause between members lets the test suite kill a run half-way; test mode only.
    delay = float(os.environ.get(DELAY_ENV) or 0) if settings.HYGIE_ENV == "test" else 0.0
    return (lambda: time.sleep(delay)) if delay else (lambda: None)


def _chunks(files: list[DocFile]) -> Iterator[list[DocFile]]:
    batch: list[DocFile] = []
    size = 0
    for f in files:
        if batch and size + f.size > PACK_LIMIT:
            yield batch
            batch, size = [], 0
        batch.append(f)
        size += f.size
    if batch:
        yield batch


def write_to(loc: Location, prepared: Prepared, progress: RunProgress) -> Written:
    """One snapshot on one destination: new documents in new packs, then the snapshot."""
    loc.store.check()
    leftovers = getattr(loc.store, "remove_leftovers", None)  # every store has one; the protocol does not say
    if leftovers is not None:
        leftovers()
    secret = identity.load_or_create()
    recipients = identity.recipients()
    key = checkpoint.load_or_create_signing_key()
    have = held(loc, secret, key.public)
    entries: dict[str, dict] = {}
    new: list[DocFile] = []
    for doc in prepared.documents:
        old = have.documents.get(doc.name)
        if old and old.get("size") == doc.size and old.get("mtime_ns") == doc.mtime_ns:
            entries[doc.name] = old
        else:
            new.append(doc)
    progress.total(sum(d.size for d in new) + sum(size for _, size, _ in prepared.members))
    between = _delay()
    bytes_sent = 0
    for batch in _chunks(new):
        name = backuparchive.pack_name()
        by_name = {d.name: d for d in batch}
        with loc.store.writer(name) as sink:
            written = backuparchive.write_pack(
                sink,
                [d.member for d in batch],
                recipients=recipients,
                signing_key=key.private,
                meta={"created_at": datetime.now(UTC).isoformat(), "signing_public_key": key.public.hex()},
                progress=progress,
                between_members=between,
            )
        for member, (size, digest) in written.members.items():
            doc = by_name[member]
            entries[member] = {"name": member, "size": size, "mtime_ns": doc.mtime_ns, "sha256": digest, "pack": name}
            bytes_sent += size
    documents = [entries[d.name] for d in prepared.documents if d.name in entries]
    packs = sorted({d["pack"] for d in documents})
    meta = {
        "created_at": prepared.created_at,
        "database": prepared.database,
        "signing_public_key": key.public.hex(),
        "counts": prepared.counts,
        "documents": documents,
        "packs": packs,
    }
    name = backuparchive.snapshot_name()
    with loc.store.writer(name) as sink:
        backuparchive.write_snapshot(
            sink,
            prepared.members,
            recipients=recipients,
            signing_key=key.private,
            meta=meta,
            progress=progress,
            between_members=between,
        )
    size = loc.store.list().get(name, 0)
    _remember(loc, name, {"packs": packs, "documents": documents}, size)
    return Written(loc, name, size, len(new), len(documents) - len(new), bytes_sent)


def backup_one(loc: Location, prepared: Prepared, *, run: Run | None = None, cli: Progress = _no_progress) -> Written:
    """Back up to one destination; its Run row (a queued one taken over, else a new one) and
    journal event, success or failure."""
    run = start_run(RunKind.BACKUP, loc, queued=run)
    progress = RunProgress(run, cli)
    where = {"target": str(loc.target.public_id) if loc.target else "", "location": loc.label}
    try:
        done = write_to(loc, prepared, progress)
    except (BackupError, ArchiveError, StoreError, identity.IdentityMissing, OSError) as exc:
        message = _message(exc, loc)
        finish_run(run, message)
        record(Ev.BACKUP_FAILED, Outcome.FAILURE, **where, error=message[:300])
        raise BackupError(message) from None
    details = {"archive": done.snapshot, "size": done.size, "sent": done.sent, "reused": done.reused,
               "bytes_sent": done.bytes_sent}  # fmt: skip
    finish_run(run, **details)
    record(Ev.BACKUP_COMPLETED, **where, **details, offsite=loc.offsite)
    return done


def _message(exc: BaseException, loc: Location) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, StoreError):
        exc = disk_error(exc, loc.label)
    return f"Destination « {loc.target.name} » : {exc}" if loc.target else str(exc)


@contextlib.contextmanager
def prepared_backup() -> Iterator[Prepared]:
    tmp_root = Path(settings.DATA_DIR) / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=tmp_root, prefix="backup-") as tmp:
        yield prepare(Path(tmp))


LOCKDOWN_MESSAGE = (
    "Hygie est isolé (incident en cours) : les sauvegardes ne vont plus que vers les destinations "
    "à verrouillage des objets, hors d'atteinte d'une machine compromise. Ne reconnectez pas les "
    "autres sauvegardes avant l'avis d'un expert."
)


def refuse_during_lockdown(queued: Run | None) -> None:
    from hygie.incidents import actions as incidents
    from hygie.incidents import lockdown

    if lockdown.is_active():
        incidents.refused(None, "backup")
        if queued is not None:
            finish_run(queued, LOCKDOWN_MESSAGE)
        raise BackupError(LOCKDOWN_MESSAGE)


def _locked_only_during_lockdown(chosen: list[Target], queued: Run | None) -> list[Target]:
    """« Isoler Hygie » (hygie.incidents, BAK-2): a destination without object lock could be
    wiped or encrypted from this machine; only locked ones (S3 object lock) still receive copies."""
    from hygie.backups.targets import locked_objects
    from hygie.incidents import lockdown

    if not lockdown.is_active():
        return chosen
    kept = [t for t in chosen if locked_objects(t)]
    if not kept:
        refuse_during_lockdown(queued)
    return kept


def run(
    directory: Path | None = None,
    *,
    targets: list[Target] | None = None,
    cli: Progress = _no_progress,
    queued: Run | None = None,
) -> list[Written]:
    """A backup to a one-off directory, or to the given (default: every enabled) target. Each
    destination succeeds or fails on its own; BackupError at the end if any failed, naming
    them."""
    if directory is not None:
        refuse_during_lockdown(queued)
        locations: list[Location | Unusable] = [directory_location(directory)]
    else:
        chosen = enabled_targets() if targets is None else targets
        if not chosen:
            raise BackupError(
                "Aucune destination de sauvegarde configurée : ajoutez-en une (page Sauvegardes, ou "
                "« hygie backup target add »), ou indiquez --to DOSSIER."
            )
        chosen = _locked_only_during_lockdown(chosen, queued)
        locations = []
        for target in chosen:
            try:
                locations.append(target_location(target))
            except BackupError as exc:
                locations.append(Unusable(target, str(exc)))
    done: list[Written] = []
    errors: list[str] = []
    try:
        with prepared_backup() as prepared:
            for loc in locations:
                if isinstance(loc, Unusable):
                    errors.append(loc.message)
                    # Its own failed run, so that the pages show which destination failed (and
                    # a run asked for from the page does not stay « demandée » for ever).
                    finish_run(start_run(RunKind.BACKUP, queued=queued, target=loc.target), loc.message)
                    queued = None
                    record(
                        Ev.BACKUP_FAILED, Outcome.FAILURE, target=str(loc.target.public_id), error=loc.message[:300]
                    )
                    continue
                try:
                    done.append(backup_one(loc, prepared, run=queued, cli=cli))
                    if loc.target is not None:  # a one-off directory is pruned on demand only
                        prune(loc)
                except BackupError as exc:
                    errors.append(str(exc))
                finally:
                    queued = None
                    loc.close()
    except BackupError as exc:  # the database snapshot itself failed
        record(Ev.BACKUP_FAILED, Outcome.FAILURE, error=str(exc)[:300])
        if queued is not None:
            finish_run(queued, str(exc))
        raise
    if errors:
        raise BackupError("\n".join(errors))
    return done


# --- Verifying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    snapshot: str
    manifest: dict
    authenticated: bool  # signed by this practice's journal key (else: by the key it carries)


def check_snapshot(
    loc: Location,
    name: str,
    secret: str,
    *,
    extract_to: Path | None = None,
    progress: Progress = _no_progress,
    packs_checked: dict[str, str | None] | None = None,
    on_snapshot: Callable[[dict], None] | None = None,
    documents_to: backuparchive.Placer | None = None,
) -> Verified:
    """Decrypt a snapshot and every pack it needs, check every member hash, both signatures,
    and that each document the snapshot lists is in its pack with the same hash. With
    `extract_to`, the database, registers and listed documents are written under it (the
    documents where `documents_to` says, if given). Raises ArchiveError naming what is wrong."""
    label = f"{loc.label} : {name}"
    try:
        with loc.store.reader(name) as fh:
            checked = backuparchive.read(fh, secret, label=label, extract_to=extract_to, progress=progress)
    except StoreError as exc:
        raise ArchiveError(str(exc)) from None
    public = _signing_public(checked.manifest)
    authenticated = conf.signing_key_file().exists()
    if not public or not backuparchive.check_signature(checked.manifest_raw, checked.signature, public):
        raise ArchiveError(f"{label} : signature du manifeste invalide (archive altérée ou d'un autre cabinet).")
    if checked.manifest.get("kind") != backuparchive.SNAPSHOT:
        raise ArchiveError(f"{label} : ce n'est pas une sauvegarde complète (hygie-backup-….age).")
    if on_snapshot is not None:
        on_snapshot(checked.manifest)  # the database can be set up while the packs are read
    by_pack: dict[str, dict[str, dict]] = {}
    for doc in checked.manifest.get("documents", []):
        by_pack.setdefault(str(doc.get("pack")), {})[str(doc.get("name"))] = doc
    packs_checked = {} if packs_checked is None else packs_checked
    todo = sorted(p for p in by_pack if extract_to is not None or p not in packs_checked)
    # Packs are read side by side. From a folder, into files (or only checked), each by a child
    # process of its own when there are several (hygie.backups.packreader: an interpreter per
    # pack, every core used; the bench: restore of 2 GB, see docs/performance.md).
    workers = PACK_READERS if getattr(loc.store, "parallel_reads", False) else 1
    in_children = len(todo) > 1 and documents_to is None and isinstance(loc.store, DirectoryStore)
    flush = getattr(progress, "flush", None)  # RunProgress: the UI's figure, written by this thread
    with contextlib.ExitStack() as stack:
        readers = stack.enter_context(packreader.Readers()) if in_children else None
        pool = stack.enter_context(ThreadPoolExecutor(workers, thread_name_prefix="backup-pack"))
        futures = [
            pool.submit(_check_pack, loc, p, by_pack[p], secret, public, extract_to, progress, documents_to,
                        readers=readers)
            for p in todo
        ]
        while futures_wait(futures, timeout=1.0).not_done:
            if flush is not None:
                flush()
        packs_checked.update(zip(todo, (f.result() for f in futures), strict=True))
    for pack in sorted(by_pack):
        if packs_checked[pack]:
            raise ArchiveError(f"{label} : {packs_checked[pack]}")
    return Verified(name, checked.manifest, authenticated)


def _check_pack(
    loc: Location,
    pack: str,
    docs: dict[str, dict],
    secret: str,
    public: bytes,
    extract_to: Path | None,
    progress: Progress,
    documents_to: backuparchive.Placer | None = None,
    *,
    readers: packreader.Readers | None = None,
) -> str | None:
    label = f"{loc.label} : {pack}"
    if not backuparchive.is_pack(pack):
        return f"paquet de documents invalide « {pack} »"
    place = None
    if documents_to is not None:
        chosen = documents_to

        def place(name: str) -> Callable[[], backuparchive.MemberSink] | None:
            return chosen(name) if name in docs else None

    try:
        if readers is not None and place is None and isinstance(loc.store, DirectoryStore):
            checked = readers.read(
                loc.store, pack, secret, label=label, extract_to=extract_to, names=docs.keys(), progress=progress
            )
        else:
            with loc.store.reader(pack) as fh:
                checked = backuparchive.read(
                    fh,
                    secret,
                    label=label,
                    extract_to=extract_to,
                    select=docs.__contains__,
                    place=place,
                    progress=progress,
                )
    except StoreError:
        return f"paquet de documents manquant « {pack} »"
    except ArchiveError as exc:
        return str(exc)
    if not backuparchive.check_signature(checked.manifest_raw, checked.signature, public):
        return f"paquet {pack} : signature invalide"
    for name, doc in docs.items():
        if checked.members.get(name) != (int(doc.get("size", -1)), str(doc.get("sha256"))):
            return f"document {name} absent du paquet {pack} ou différent"
    return None


def verify(
    loc: Location, *, only: str | None = None, identity_path: Path | None = None
) -> list[tuple[str, str | None]]:
    """(snapshot, None if good else the French reason) for every snapshot of a destination
    (or only one). Each pack is checked once."""
    secret = load_identity(identity_path)
    try:
        names = [only] if only else backuparchive.snapshots(loc.store.list())
    except StoreError as exc:
        raise BackupError(str(exc)) from None
    if not names:
        raise BackupError(f"Aucune sauvegarde (hygie-backup-*.age) dans {loc.label}.")
    run_row = start_run(RunKind.VERIFY, loc)
    results: list[tuple[str, str | None]] = []
    packs: dict[str, str | None] = {}
    for name in names:
        try:
            check_snapshot(loc, name, secret, packs_checked=packs)
            results.append((name, None))
        except ArchiveError as exc:
            results.append((name, str(exc)))
    bad = [n for n, reason in results if reason]
    finish_run(run_row, f"{len(bad)} sauvegarde(s) en échec" if bad else "", snapshots=len(results), failed=len(bad))
    record(Ev.BACKUP_VERIFIED, Outcome.FAILURE if bad else Outcome.SUCCESS, archives=len(results), failed=bad)
    return results


def load_identity(identity_path: Path | None = None) -> str:
    try:
        return identity.load(identity_path)
    except (identity.IdentityMissing, ArchiveError) as exc:
        raise BackupError(str(exc)) from None


# --- Generations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pruned:
    snapshots: int
    packs: int
    locked: int  # under retention (object lock): tried again next time


def prune(loc: Location, *, now: datetime | None = None) -> Pruned:
    """Keep 7 daily / 4 weekly / 12 monthly snapshots (settings), then delete the packs no
    kept snapshot needs. Never deletes the newest snapshot nor a pack a kept one needs."""
    now = now or timezone.now()
    secret = identity.load_or_create()
    public = _public_key()
    listing = loc.store.list()
    names = backuparchive.snapshots(listing)
    times = {n: backuparchive.time_of(n) for n in names}
    keep = generations.kept(
        {n: t for n, t in times.items() if t},
        daily=settings.BACKUP_KEEP_DAILY,
        weekly=settings.BACKUP_KEEP_WEEKLY,
        monthly=settings.BACKUP_KEEP_MONTHLY,
        tz=ZoneInfo(settings.TIME_ZONE),
    )
    cached = {s.name: s.packs for s in Snapshot.objects.filter(location=loc.key, name__in=list(keep))}
    needed: set[str] = set()
    for name in keep:
        if name not in cached:
            try:
                manifest = read_manifest(loc, name, secret, public)
            except (ArchiveError, StoreError):
                return Pruned(0, 0, 0)  # cannot tell what it needs: delete nothing
            _remember(loc, name, manifest, listing.get(name, 0))
            cached[name] = sorted(manifest.get("packs", []))
        needed.update(cached[name])
    gone = locked = 0
    deleted_snapshots = []
    for name in names:
        if name in keep:
            continue
        try:
            loc.store.delete(name)
            deleted_snapshots.append(name)
        except RetentionLocked:
            locked += 1
            # A locked snapshot still needs its packs.
            snap = Snapshot.objects.filter(location=loc.key, name=name).first()
            # (unknown: keep every pack rather than guess)
            needed.update(snap.packs if snap else (n for n in listing if backuparchive.is_pack(n)))
    Snapshot.objects.filter(location=loc.key, name__in=deleted_snapshots).delete()
    for name in listing:
        if not backuparchive.is_pack(name) or name in needed:
            continue
        written = backuparchive.time_of(name)
        if written is None or now - written < ORPHAN_GRACE and not _older_than_newest(name, names):
            continue  # perhaps a run still going, or killed an instant ago
        try:
            loc.store.delete(name)
            gone += 1
        except RetentionLocked:
            locked += 1
    Snapshot.objects.filter(location=loc.key).exclude(name__in=names).delete()
    if deleted_snapshots or gone:
        record(
            Ev.BACKUP_PRUNED,
            target=str(loc.target.public_id) if loc.target else "",
            snapshots=len(deleted_snapshots),
            packs=gone,
            locked=locked,
        )
    return Pruned(len(deleted_snapshots), gone, locked)


def _older_than_newest(pack: str, snapshots: list[str]) -> bool:
    """A pack written before the newest snapshot and not needed by any kept one is garbage."""
    if not snapshots:
        return False
    pack_time, newest = backuparchive.time_of(pack), backuparchive.time_of(snapshots[-1])
    return bool(pack_time and newest and pack_time < newest)

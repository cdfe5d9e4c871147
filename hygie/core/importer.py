"""Import a CSV of patients into one practitioner's patientèle without taking the site down.

The file is streamed, never held whole in memory, and read three times:
0. `open_csv` refuses at once what is not a regular file (/dev/zero, a FIFO, a directory, a
   socket) and a file over HYGIE_IMPORT_MAX_MB; `check` first reads its encoding (every byte
   must decode);
1. `check` validates every row (hygie.lib.csvimport, then the patient model's own rules) and
   looks up the identities the patientèle already holds: reads only, no transaction, so on
   SQLite the write lock stays free. One error and nothing is written.
2. `write` writes the rows in short batches, each its own transaction with its journal event
   (hygie.core.actions.import_patient_batch). Batches are sized to last about BATCH_SECONDS; on
   SQLite, where a batch holds the only write lock and every page waits for it, the importer
   then leaves the lock free for at least GAP_SECONDS so that waiting pages get in. A crash
   between batches leaves whole batches: the same command again skips the identities already
   present and writes the rest.
`--dry-run` is step 1 only. bench/bench_import.py measures what a page waits meanwhile.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection

from hygie.access.policy import Role
from hygie.accounts.models import User
from hygie.core import actions
from hygie.keys import service
from hygie.lib import blindindex, csvimport
from hygie.lib.csvimport import CsvFileError, PatientRow, RowError
from hygie.patients import indexes
from hygie.patients.identity import identity_fingerprint
from hygie.patients.models import Patient

# How long one batch may hold SQLite's write lock, and how long the lock is then left free.
# A page waiting for the lock sleeps between attempts, at most 100 ms at a time (SQLite's busy
# handler): a gap of 100 ms lets every waiting page in. Worst wait of a page: about one batch.
BATCH_SECONDS = 0.25
GAP_SECONDS = 0.1
FIRST_BATCH_ROWS = 50
MIN_BATCH_ROWS, MAX_BATCH_ROWS = 10, 5000
# Errors kept for display: a file of garbage does not fill the memory or the terminal.
MAX_ERRORS_SHOWN = 1000
_CHUNK = 1024 * 1024

# The column of the file for each model field, to name it in an error.
_COLUMN_OF = {
    "birth_name": "nom",
    "usage_name": "nom_usage",
    "first_names": "prenom",
    "birth_date": "date_naissance",
    "sex": "sexe",
    "ins": "ins",
    "phone": "telephone",
    "email": "email",
    "address": "adresse",
    "history": "antecedents",
    "declared_last_visit": "derniere_consultation",
    "death_date": "date_deces",
}


class ImportRefused(Exception):
    """The import cannot start (file, practitioner). French message; nothing was changed."""


class ImportInterrupted(Exception):
    """The import stopped between batches. French message; `written` says what was committed."""

    def __init__(self, message: str, written: Written) -> None:
        super().__init__(message)
        self.written = written


def max_bytes() -> int:
    return int(settings.IMPORT_MAX_MB) * 1024 * 1024


def practitioner_for(username: str) -> User:
    user = User.objects.filter(username__iexact=username.strip()).first()
    if user is None:
        raise ImportRefused(f"Aucun compte « {username} ». Indiquez l'identifiant d'un praticien titulaire.")
    if user.role != Role.TITULAIRE or not user.is_active:
        raise ImportRefused(
            f"« {user.username} » n'est pas un praticien titulaire actif : les patients importés "
            "rejoignent la patientèle d'un titulaire."
        )
    return user


# --- The file ------------------------------------------------------------------------------


class CsvFile:
    """A regular file opened for reading, read from the start as often as needed, never more
    than `limit` bytes (a file that grows while read is cut short with a message)."""

    def __init__(self, path: str, fd: int, st: os.stat_result, limit: int) -> None:
        self.path = path
        self._raw = os.fdopen(fd, "rb", buffering=0)
        self.size = st.st_size
        self._identity = _identity(st)
        self.limit = limit
        self.position = 0  # bytes read by the current pass
        self._digest = hashlib.sha256()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rewind(self) -> None:
        self._raw.seek(0)
        self.position = 0
        self._digest = hashlib.sha256()

    def read(self, n: int) -> bytes:
        data = self._raw.read(n) or b""
        self.position += len(data)
        if self.position > self.limit:
            raise ImportRefused(_too_large(self.limit))
        self._digest.update(data)
        return data

    def chunks(self) -> Iterator[bytes]:
        self._rewind()
        while data := self.read(_CHUNK):
            yield data

    def text(self, encoding: str) -> io.TextIOWrapper:
        """The file from its start as text; newline="" keeps line breaks inside quoted cells."""
        self._rewind()
        buffered = io.BufferedReader(_Raw(self), buffer_size=_CHUNK)
        return io.TextIOWrapper(buffered, encoding=csvimport.python_codec(encoding), newline="")

    def digest(self) -> str:
        """SHA-256 of what the current pass has read so far."""
        return self._digest.hexdigest()

    def unchanged(self) -> bool:
        return _identity(os.fstat(self._raw.fileno())) == self._identity


class _Raw(io.RawIOBase):
    def __init__(self, source: CsvFile) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _too_large(limit: int) -> str:
    return (
        f"Fichier trop volumineux : la limite est de {limit // (1024 * 1024)} Mo (réglage HYGIE_IMPORT_MAX_MB). "
        "Découpez le fichier en plusieurs imports."
    )


def open_csv(path: str, limit: int | None = None) -> CsvFile:
    """The file at `path`, opened, if it is a regular file within the size limit.

    Opened before it is examined (no window for swapping it) and without blocking: opening a
    FIFO for reading would otherwise wait for a writer forever.
    """
    limit = max_bytes() if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ImportRefused(f"Fichier introuvable : {path}") from None
    except IsADirectoryError:
        raise ImportRefused(f"« {path} » est un dossier, pas un fichier CSV.") from None
    except PermissionError:
        raise ImportRefused(f"Fichier illisible (droits insuffisants) : {path}") from None
    except OSError as exc:
        raise ImportRefused(f"Fichier illisible : {path} ({exc.strerror}).") from None
    try:
        st = os.fstat(fd)
        kind = _not_regular(st.st_mode)
        if kind:
            raise ImportRefused(f"« {path} » est {kind}, pas un fichier CSV : rien n'a été lu.")
        if st.st_size > limit:
            raise ImportRefused(_too_large(limit))
        os.set_blocking(fd, True)
        return CsvFile(path, fd, st, limit)
    except BaseException:
        os.close(fd)
        raise


def _not_regular(mode: int) -> str:
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "un dossier"
    if stat.S_ISFIFO(mode):
        return "un tube nommé (FIFO)"
    if stat.S_ISSOCK(mode):
        return "une socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "un périphérique"
    return "un fichier spécial"


# --- Pass 1: check -------------------------------------------------------------------------


@dataclass
class Check:
    """What pass 1 found. `to_import` and `present` hold line numbers (and the code of the
    patient already there), never a value of the file."""

    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    to_import: list[int] = field(default_factory=list)
    present: list[tuple[int, str]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    digest: str = ""

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append(error)


def check(source: CsvFile, practitioner: User, *, progress: Callable[[int], None] | None = None) -> Check:
    """Pass 1: every row validated, nothing written, no transaction open."""
    report = Check()
    try:
        report.encoding = csvimport.detect_encoding(source.chunks())
        present = _present(practitioner)
        reader = csvimport.RowReader(csvimport.lines_of(source.text(report.encoding)))
        for item in reader:
            if isinstance(item, RowError):
                report.add_error(item)
                continue
            report.rows += 1
            model_errors = _model_errors(item)
            for error in model_errors:
                report.add_error(error)
            if not model_errors and not report.error_count:
                code = present.get(identity_fingerprint(item.birth_name, item.first_names, item.birth_date))
                if code is None:
                    report.to_import.append(item.line)
                else:
                    report.present.append((item.line, code))
            if progress is not None and report.rows % 500 == 0:
                progress(source.position)
    except CsvFileError as exc:
        raise ImportRefused(str(exc)) from None
    report.delimiter = reader.delimiter
    report.digest = source.digest()
    if report.error_count:
        report.to_import, report.present = [], []
    if progress is not None:
        progress(source.position)
    return report


def _present(practitioner: User) -> dict[str, str]:
    """Identity fingerprint → code of the patients of this patientèle (one read query)."""
    return dict(
        Patient.objects.filter(care_team__practitioner=practitioner).values_list("identity_fingerprint", "code")
    )


def _model_errors(row: PatientRow) -> list[RowError]:
    """What the model would refuse and the parser let through; named by column, never by value."""
    patient = Patient(**row.model_fields())
    try:
        patient.full_clean(exclude=["identity_fingerprint", "code"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return [
            RowError(row.line, f"valeur refusée dans la colonne « {_COLUMN_OF.get(name, name)} ».")
            for name in sorted(exc.message_dict)
        ]
    return []


# --- Pass 2: write -------------------------------------------------------------------------


@dataclass
class Written:
    imported: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    batches: int = 0
    import_id: str = ""


_CHANGED = (
    "Le fichier a été modifié pendant l'import. {done} Relancez la même commande sur le fichier "
    "définitif : les patients déjà importés seront ignorés."
)


def write(
    source: CsvFile,
    practitioner: User,
    checked: Check,
    *,
    advance: Callable[[int], None] | None = None,
    batch_seconds: float = BATCH_SECONDS,
    first_batch: int | None = None,
    max_batch: int | None = None,
) -> Written:
    """Pass 2: the checked file written in batches. Raises ImportInterrupted, saying what was
    written, if the file changes or the database refuses a batch."""
    if checked.error_count:
        raise ValueError("write() needs a file without errors")
    written = Written(import_id=uuid.uuid4().hex[:16])
    gap = GAP_SECONDS if connection.vendor == "sqlite" else 0.0
    max_batch = MAX_BATCH_ROWS if max_batch is None else max_batch
    size = max(1, min(FIRST_BATCH_ROWS if first_batch is None else first_batch, max_batch))
    pending: list[actions.PreparedPatient] = []
    memo: dict[tuple[str, str], int] = {}
    key = service.blind_key()
    lock_freed = time.monotonic()

    def flush() -> None:
        nonlocal size, lock_freed
        if not source.unchanged():
            raise ImportInterrupted(_CHANGED.format(done=_done(written)), written)
        # Whatever preparing the batch took counts towards the gap.
        rest = gap - (time.monotonic() - lock_freed)
        if rest > 0:
            time.sleep(rest)
        started = time.monotonic()
        try:
            outcome = actions.import_patient_batch(
                practitioner=practitioner, prepared=pending, import_id=written.import_id, batch=written.batches + 1
            )
        except DatabaseError:
            raise ImportInterrupted(
                "La base de données a refusé l'écriture (disque plein ? base verrouillée trop longtemps ?). "
                f"{_done(written)} Corrigez la cause puis relancez la même commande : les patients déjà "
                "importés seront ignorés.",
                written,
            ) from None
        lock_freed = time.monotonic()
        elapsed = lock_freed - started
        written.batches += 1
        written.imported.extend(outcome.imported)
        written.skipped.extend(outcome.skipped)
        if advance is not None:
            advance(len(pending))
        # Next batch sized for batch_seconds, moving halfway there (a slow batch, e.g. one that
        # waited for a page, does not shrink the next ones at once).
        target = len(pending) * batch_seconds / max(elapsed, 1e-3)
        size = int(min(max_batch, max(MIN_BATCH_ROWS, (size + target) / 2)))
        pending.clear()

    try:
        for item in csvimport.RowReader(csvimport.lines_of(source.text(checked.encoding))):
            if isinstance(item, RowError):
                raise ImportInterrupted(_CHANGED.format(done=_done(written)), written)
            pending.append(_prepare(item, key, memo))
            if len(pending) >= size:
                flush()
        if pending:
            flush()
    except (CsvFileError, ImportRefused):  # pass 1 read it whole: the file changed since
        raise ImportInterrupted(_CHANGED.format(done=_done(written)), written) from None
    except KeyboardInterrupt:
        raise ImportInterrupted(
            f"Import interrompu. {_done(written)} Relancez la même commande pour terminer : les patients "
            "déjà importés seront ignorés.",
            written,
        ) from None
    if source.digest() != checked.digest:
        raise ImportInterrupted(_CHANGED.format(done=_done(written)), written)
    return written


def _done(written: Written) -> str:
    n = len(written.imported)
    return f"{n} patient{'s' if n > 1 else ''} importé{'s' if n > 1 else ''} avant l'arrêt."


# Index values of names and dates repeat from patient to patient (« ma », « mar », a birth
# date): computed once each. Bounded, since full-name prefixes hardly repeat.
_MEMO_MAX = 200_000


def _prepare(row: PatientRow, key: bytes, memo: dict[tuple[str, str], int]) -> actions.PreparedPatient:
    """The unsaved patient of a checked row, its fingerprint and blind-index values: the work
    done outside the write transaction."""
    patient = Patient(**row.model_fields())
    patient.identity_fingerprint = identity_fingerprint(patient.birth_name, patient.first_names, patient.birth_date)
    if len(memo) > _MEMO_MAX:
        memo.clear()
    values = set()
    for term in indexes.terms_of(patient):
        value = memo.get(term)
        if value is None:
            value = memo[term] = blindindex.value(key, *term)
        values.add((term[0], value))
    return actions.PreparedPatient(line=row.line, patient=patient, blind=sorted(values))

"""Import a CSV of patients into one practitioner's patientèle: all rows or none.

Every row is checked first (hygie.lib.csvimport, then the patient model's own rules); one
error and nothing is written. Rows whose identity the patientèle already holds are skipped,
so importing the same file twice creates no duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from hygie.access.policy import Role
from hygie.accounts.models import User
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.core.actions import CLI_ROLE
from hygie.lib import csvimport
from hygie.lib.csvimport import CsvFileError, PatientRow, RowError
from hygie.patients.actions import create_patient, find_duplicate
from hygie.patients.models import Patient
from hygie.retention import actions as retention_actions

# An export of a whole practice stays far below this; a larger file is a mistake.
MAX_FILE_BYTES = 50 * 1024 * 1024

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


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    already_present: int = 0
    errors: list[RowError] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    dry_run: bool = False


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


def read_file(path: str) -> bytes:
    p = Path(path)
    try:
        if p.is_dir():
            raise ImportRefused(f"« {path} » est un dossier, pas un fichier CSV.")
        if p.stat().st_size > MAX_FILE_BYTES:
            raise ImportRefused(f"Fichier trop volumineux (plus de {MAX_FILE_BYTES // (1024 * 1024)} Mo).")
        return p.read_bytes()
    except FileNotFoundError:
        raise ImportRefused(f"Fichier introuvable : {path}") from None
    except PermissionError:
        raise ImportRefused(f"Fichier illisible (droits insuffisants) : {path}") from None
    except OSError as exc:
        raise ImportRefused(f"Fichier illisible : {path} ({exc.strerror}).") from None


def check(data: bytes) -> tuple[list[PatientRow], ImportReport]:
    """Parse and validate every row; the report's errors are empty when all rows are good."""
    try:
        parsed = csvimport.parse(data)
    except CsvFileError as exc:
        raise ImportRefused(str(exc)) from None
    report = ImportReport(encoding=parsed.encoding, delimiter=parsed.delimiter, errors=list(parsed.errors))
    if report.errors:
        return [], report
    for row in parsed.rows:
        report.errors.extend(_model_errors(row))
    report.rows = len(parsed.rows)
    return (parsed.rows if not report.errors else []), report


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


def import_rows(
    rows: list[PatientRow],
    practitioner: User,
    report: ImportReport,
    *,
    dry_run: bool = False,
    advance: Callable[[], None] | None = None,
) -> ImportReport:
    """Write the checked rows in one transaction, skipping identities already present."""
    report.dry_run = dry_run
    created: list[Patient] = []
    with transaction.atomic():
        for row in rows:
            if find_duplicate(practitioner, row.birth_name, row.first_names, row.birth_date) is not None:
                report.already_present += 1
            elif dry_run:
                report.imported += 1
            else:
                data = row.model_fields()
                created.append(create_patient(actor=None, practitioner=practitioner, data=data, journal_event=True))
                report.imported += 1
            if advance:
                advance()
        if not dry_run:
            journal.record(
                Ev.PATIENTS_IMPORTED,
                target=practitioner,
                actor_role=CLI_ROLE,
                details={"rows": report.rows, "imported": report.imported, "already_present": report.already_present},
            )
            # Retention: a record migrated with an old last consultation goes straight to the
            # intermediate archive, and is due at once if its time has run out.
            retention_actions.refresh(created)
    return report

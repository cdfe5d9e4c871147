"""Every change to patient records. Each action writes its journal event in its transaction.

Callers (views, commands) have already fetched the patient through hygie.access.records;
the actions check again what only they can know (e.g. who may join a care team).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hygie.access.policy import PRACTITIONER_ROLES, Cap, Role, role_can
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.patients import documents
from hygie.patients.identity import identity_fingerprint
from hygie.patients.models import (
    CLINICAL_FIELDS,
    BreakGlassAccess,
    CareTeamMember,
    Consultation,
    ConsultationRevision,
    Document,
    DocumentKind,
    HistoryRevision,
    Patient,
)

IDENTITY_FIELDS = (
    "birth_name",
    "usage_name",
    "first_names",
    "birth_date",
    "sex",
    "ins",
    "phone",
    "email",
    "address",
    "death_date",
    "declared_last_visit",
)


class ActionError(Exception):
    """A refused action. The message is French and names no patient."""


class DuplicatePatient(ActionError):
    """The patientèle already holds this identity. `existing` is that patient."""

    def __init__(self, existing: Patient) -> None:
        super().__init__("Ce patient existe déjà dans la patientèle de ce praticien.")
        self.existing = existing


def _owner_for(actor: Any, practitioner: Any) -> Any:
    """The titulaire whose patientèle a new patient joins."""
    if practitioner is None or practitioner.role != Role.TITULAIRE or not practitioner.is_active:
        raise ActionError("Un nouveau patient doit être rattaché à un praticien titulaire actif.")
    return practitioner


def find_duplicate(practitioner: Any, birth_name: str, first_names: str, birth_date: date) -> Patient | None:
    """The patient of this practitioner's patientèle with the same identity, if any."""
    fp = identity_fingerprint(birth_name, first_names, birth_date)
    return (
        Patient.objects.filter(identity_fingerprint=fp, care_team__practitioner=practitioner).first()
    )


@transaction.atomic
def create_patient(*, actor: Any, practitioner: Any, data: dict[str, Any], journal_event: bool = True) -> Patient:
    """Create a patient in `practitioner`'s patientèle. `data` holds IDENTITY_FIELDS and
    optionally `history` (antécédents)."""
    owner = _owner_for(actor, practitioner)
    if "birth_name" in data and "first_names" in data and data.get("birth_date"):
        existing = find_duplicate(owner, data["birth_name"], data["first_names"], data["birth_date"])
        if existing is not None:
            raise DuplicatePatient(existing)
    fields = {k: data[k] for k in (*IDENTITY_FIELDS, "history") if k in data and data[k] is not None}
    patient = Patient(**fields)
    patient.identity_fingerprint = identity_fingerprint(patient.birth_name, patient.first_names, patient.birth_date)
    patient.full_clean(exclude=["identity_fingerprint", "code"])
    patient.save()
    CareTeamMember.objects.create(patient=patient, practitioner=owner)
    if patient.history:
        # The first version of the antécédents, by whoever created the record (None: an import).
        HistoryRevision.objects.create(patient=patient, author=_author(actor), text=patient.history)
    if journal_event:
        journal.record(Ev.PATIENT_CREATED, actor=actor, target=patient)
    return patient


@transaction.atomic
def update_identity(*, actor: Any, patient: Patient, data: dict[str, Any]) -> list[str]:
    """Change identity and contact fields. Returns the names of the fields changed (journaled,
    without their values)."""
    changed = []
    for name in IDENTITY_FIELDS:
        if name in data and getattr(patient, name) != data[name]:
            # Dates stay None when cleared; text fields hold "" rather than None.
            value = data[name]
            if value is None and name not in ("birth_date", "death_date", "declared_last_visit"):
                value = ""
            setattr(patient, name, value)
            changed.append(name)
    if not changed:
        return []
    patient.identity_fingerprint = identity_fingerprint(patient.birth_name, patient.first_names, patient.birth_date)
    patient.full_clean(exclude=["identity_fingerprint", "code"])
    patient.save()
    journal.record(Ev.PATIENT_UPDATED, actor=actor, target=patient, details={"fields": changed})
    return changed


def _author(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def update_history(*, actor: Any, patient: Patient, history: str) -> None:
    """A new version of the antécédents: earlier ones stay (HistoryRevision), with their author."""
    if patient.history == history:
        return
    patient.history = history
    patient.save(update_fields=["history", "updated_at"])
    revision = HistoryRevision.objects.create(patient=patient, author=_author(actor), text=history)
    journal.record(Ev.HISTORY_UPDATED, actor=actor, target=patient, details={"revision": str(revision.public_id)})


@transaction.atomic
def add_to_care_team(*, actor: Any, patient: Patient, practitioner: Any) -> None:
    """A new titulaire in the team reads the record: only a titulaire already responsible for the
    patient opens it (never someone reaching it through a break-the-glass access, never anyone
    else: docs/permissions.md)."""
    if not _responsible_for(actor, patient):
        raise ActionError("Seul un praticien titulaire de l'équipe de soins peut y ajouter un confrère.")
    if practitioner.role != Role.TITULAIRE or not practitioner.is_active:
        raise ActionError("Seul un praticien titulaire actif peut rejoindre l'équipe de soins.")
    _, created = CareTeamMember.objects.get_or_create(patient=patient, practitioner=practitioner)
    if created:
        journal.record(Ev.CARE_TEAM_ADDED, actor=actor, target=patient, details={"practitioner": practitioner.pk})


def _responsible_for(actor: Any, patient: Patient) -> bool:
    return bool(
        actor is not None
        and getattr(actor, "is_active", False)
        and actor.role == Role.TITULAIRE
        and CareTeamMember.objects.filter(patient=patient, practitioner_id=actor.pk).exists()
    )


@transaction.atomic
def remove_from_care_team(*, actor: Any, patient: Patient, practitioner: Any) -> None:
    members = CareTeamMember.objects.filter(patient=patient)
    if not members.filter(practitioner=practitioner).exists():
        return
    if members.count() == 1:
        raise ActionError("Le patient doit garder au moins un praticien dans son équipe de soins.")
    members.filter(practitioner=practitioner).delete()
    journal.record(Ev.CARE_TEAM_REMOVED, actor=actor, target=patient, details={"practitioner": practitioner.pk})


# --- Consultations -----------------------------------------------------------------------

CONSULTATION_FIELDS = ("date", "motif", "observations", *CLINICAL_FIELDS)


def _check_vitals(consultation: Consultation) -> None:
    """Implausible vital signs are refused by every caller, not only by the form."""
    from django.core.exceptions import ValidationError

    from hygie.lib import vitals

    try:
        vitals.check({name: getattr(consultation, name) for name in vitals.MEASURES})
    except vitals.VitalsError as exc:
        raise ValidationError({exc.field: str(exc)}) from None


def _require_practitioner(actor: Any) -> None:
    if actor is None or actor.role not in PRACTITIONER_ROLES or not role_can(actor.role, Cap.MEDICAL_EDIT):
        raise ActionError("Seul un praticien peut rédiger une consultation.")


@transaction.atomic
def create_consultation(
    *, actor: Any, patient: Patient, date: datetime, motif: str, observations: str = "", **clinical: Any
) -> Consultation:
    """A consultation by `actor`, who is its practitioner. `clinical`: the optional structured
    fields (CLINICAL_FIELDS: examination, conclusion, plan, vital signs)."""
    _require_practitioner(actor)
    unknown = set(clinical) - set(CLINICAL_FIELDS)
    if unknown:
        raise ActionError("Champ de consultation inconnu.")
    values: dict[str, Any] = {name: "" for name in ("examination", "conclusion", "plan")}
    values.update({k: (v.strip() if isinstance(v, str) else v) for k, v in clinical.items()})
    consultation = Consultation(
        patient=patient, practitioner=actor, date=date, motif=motif.strip(), observations=observations.strip(),
        **values,
    )
    _check_vitals(consultation)
    consultation.full_clean()
    consultation.save()
    _new_revision(consultation, actor)
    journal.record(Ev.CONSULTATION_CREATED, actor=actor, target=consultation)
    return consultation


def _new_revision(consultation: Consultation, author: Any) -> ConsultationRevision:
    return ConsultationRevision.objects.create(
        consultation=consultation, patient_id=consultation.patient_id, author=author,
        **{name: getattr(consultation, name) for name in CONSULTATION_FIELDS},
    )


@transaction.atomic
def update_consultation(*, actor: Any, consultation: Consultation, data: dict[str, Any]) -> list[str]:
    """A new version of the consultation by `actor`; earlier versions stay (ConsultationRevision)
    with their author and time, and the first author stays the consultation's practitioner.
    Returns the names of the fields changed (journaled, without their values)."""
    _require_practitioner(actor)
    changed = []
    for name in CONSULTATION_FIELDS:
        if name not in data:
            continue
        value = data[name].strip() if isinstance(data[name], str) else data[name]
        current = getattr(consultation, name)
        if current is None and value == "":
            continue  # a text added after this consultation was written, still empty
        if current != value:
            setattr(consultation, name, value)
            changed.append(name)
    if not changed:
        return []
    _check_vitals(consultation)
    consultation.full_clean()
    consultation.save()
    revision = _new_revision(consultation, actor)
    journal.record(
        Ev.CONSULTATION_UPDATED, actor=actor, target=consultation,
        details={"fields": changed, "revision": str(revision.public_id)},
    )
    return changed


# --- Documents ---------------------------------------------------------------------------

def upload_document(*, actor: Any, patient: Patient, title: str, kind: str, fileobj: IO[bytes]) -> Document:
    """Store the file, then its record and journal event in one transaction.

    The blob is written first (outside the transaction: it may be large); if the record
    cannot be saved the blob is removed. Raises documents.DocumentError for a refused file.
    """
    if kind not in DocumentKind.values:
        raise ActionError("Type de document inconnu.")
    blob = documents.save_stream(fileobj, patient=patient)
    try:
        with transaction.atomic():
            document = Document(
                patient=patient,
                uploaded_by=actor,
                title=title.strip(),
                kind=kind,
                content_type=blob.content_type,
                size=blob.size,
                sha256=blob.sha256,
                storage_name=blob.storage_name,
            )
            document.full_clean()
            document.save()
            journal.record(
                Ev.DOCUMENT_UPLOADED,
                actor=actor,
                target=document,
                details={"size": blob.size, "content_type": blob.content_type},
            )
    except BaseException:
        documents.delete_blob_later(blob.storage_name)
        raise
    return document


# --- Break-the-glass ---------------------------------------------------------------------

BREAK_GLASS_MIN_REASON = 10


@transaction.atomic
def open_break_glass(actor: Any, patient: Patient, reason: str) -> BreakGlassAccess:
    """Open a time-limited access to a patient outside the actor's care teams, with a reason.

    The reason stays in the (encrypted) access row: typed text may be medical and never goes
    into the journal, whose event points to the access row. Reviewers read it from there.
    """
    if actor is None or not actor.is_active or not role_can(actor.role, Cap.BREAK_GLASS):
        raise ActionError("Seul un praticien titulaire peut ouvrir un accès exceptionnel.")
    reason = (reason or "").strip()
    if len(reason) < BREAK_GLASS_MIN_REASON:
        raise ActionError("Le motif de l'accès exceptionnel doit faire au moins 10 caractères.")
    access = BreakGlassAccess.objects.create(
        user=actor,
        patient=patient,
        reason=reason,
        expires_at=timezone.now() + timedelta(hours=settings.BREAK_GLASS_HOURS),
    )
    journal.record(
        Ev.BREAK_GLASS,
        actor=actor,
        target=patient,
        details={"access": str(access.public_id), "hours": settings.BREAK_GLASS_HOURS},
    )
    return access


# --- Erasure (crypto-shredding) ----------------------------------------------------------

def erase_patient(
    *, actor: Any, patient: Patient, retention: dict[str, Any] | None = None, actor_role: str | None = None
) -> None:
    """Erase a patient for good: destroy their data key, then their rows and document blobs.

    Without the data key every copy of their data — database pages, old backups — is
    unreadable ciphertext. The erasure register (internal id and date, in the database and in a
    file next to the key file) lets a restored backup erase them again. The journal keeps ids
    only. The caller has fetched the patient with Cap.PATIENT_ERASE.

    `retention` ({"rule", "expired_on", "via"}) is set by hygie.retention.actions.purge, which
    has checked that the record is due and who approved it: the rule and the expiry go to the
    register and the journal; an automatic purge (via "automatic") has no actor.
    """
    automatic = retention is not None and retention.get("via") == "automatic"
    if not automatic and (actor is None or not actor.is_active or not role_can(actor.role, Cap.PATIENT_ERASE)):
        raise ActionError("Seul un praticien titulaire peut effacer un dossier patient.")
    blobs = list(patient.documents.values_list("storage_name", flat=True))
    patient_pk = patient.pk
    details: dict[str, Any] = {"documents": len(blobs), "crypto_shredding": True}
    rule, expired_on = "", None
    if retention is not None:
        rule, expired_on = str(retention["rule"]), retention["expired_on"]
        details.update(rule=rule, expired_on=expired_on.isoformat(), via=retention.get("via", ""))
        if retention.get("request"):
            # The patient's erasure request this purge answers (hygie.rights).
            details["request"] = str(retention["request"])
    with transaction.atomic():
        journal.record(Ev.PATIENT_ERASED, actor=actor, target=patient, details=details, actor_role=actor_role)
        _shred(patient_pk, rule=rule, expired_on=expired_on)
    # The blobs are unreadable already (their keys were wrapped by the destroyed data key);
    # removing them once the erasure is committed frees the space.
    # If the document store cannot be reached now, the orphan job deletes them later (no row
    # names them any more).
    transaction.on_commit(lambda: [documents.delete_blob_later(name) for name in blobs])


def _shred(patient_pk: int, *, rule: str = "", expired_on: date | None = None) -> None:
    from hygie.keys import erasure
    from hygie.patients.models import BlindIndex

    # The data key first: from here on the patient's ciphertexts are noise.
    erasure.destroy_key(patient_pk, rule=rule, expired_on=expired_on)
    BlindIndex.objects.filter(patient_id=patient_pk).delete()
    Patient.objects.filter(pk=patient_pk).delete()


@transaction.atomic
def reapply_erasures() -> list[int]:
    """After a restore: erase again the patients erased since the backup was taken (ids from the
    erasure register, including the file next to the key file). Returns their internal ids."""
    from hygie.keys import erasure

    done = []
    rules = erasure.registered_rules()
    for ref, when in erasure.registered().items():
        # Only a patient who existed when the erasure was made: restoring an old backup sets the
        # id sequence back, and a patient created since may carry an erased patient's old id.
        patient = Patient.objects.filter(pk=ref).only("created_at").first()
        if patient is not None:
            erased = patient.created_at <= datetime.fromisoformat(when)
        else:
            erased = erasure.still_has_key(ref)
        rule, expired_on = rules.get(ref, ("", None))
        if erased:
            _shred(ref, rule=rule, expired_on=expired_on)
            done.append(ref)
        erasure.remember_erasure(ref, when, rule=rule, expired_on=expired_on)
    if done:
        journal.record(Ev.ERASURES_REAPPLIED, actor=None, details={"patients": done})
    return done


# --- Document store housekeeping ----------------------------------------------------------

def remove_orphan_blobs(*, grace: timedelta) -> dict[str, int]:
    """Delete the blobs of the document store that no Document row names, once older than
    `grace` (an upload still running or about to commit is younger), and the unfinished writes
    (temporary files, multipart uploads) of uploads killed midway. Journaled when anything was
    removed: counts only (the names are random and say nothing, but are not needed either).

    A blob is written before its row is committed: a rolled-back transaction or a process killed
    between the two leaves one behind; so does an erasure whose store was unreachable."""
    from hygie.access import records
    from hygie.patients import blobstore

    store = blobstore.get_store()
    limit = (timezone.now() - grace).timestamp() * 1_000_000_000
    removed = scanned = 0
    batch: list[str] = []

    def sweep(names: list[str]) -> int:
        in_use = records.document_blobs_in_use(names)
        gone = [name for name in names if name not in in_use]
        for name in gone:
            store.delete(name)
        return len(gone)

    for info in store.blobs():
        scanned += 1
        if info.mtime_ns >= limit:
            continue
        batch.append(info.name)
        if len(batch) >= 500:
            removed += sweep(batch)
            batch = []
    if batch:
        removed += sweep(batch)
    leftovers = store.remove_leftovers(grace.total_seconds())
    if removed or leftovers:
        journal.record(
            Ev.DOCUMENT_ORPHANS_REMOVED,
            details={"blobs": removed, "unfinished": leftovers, "grace_hours": int(grace.total_seconds() // 3600)},
        )
    return {"scanned": scanned, "removed": removed, "unfinished": leftovers}

"""Every change the rights register makes (docs/rights.md). Each action writes its journal event
in its transaction; events carry the request's id, the patient (internal id), the right, codes and
dates — never a name, never what was seen of an identity document, never a note.

The deadlines are pure rules (hygie.lib.rights); the erasure decision asks the retention engine
(hygie.retention.actions.decide) and an accepted erasure goes through its purge, with the request
as its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from hygie.access.policy import Cap, Role, role_can
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.lib import retention as retention_rules
from hygie.lib import rights as rules
from hygie.patients.models import CareTeamMember, Consultation, Document, Patient
from hygie.rights.models import (
    Processing,
    RecordRestriction,
    RefusalGround,
    Requester,
    RestrictionKind,
    Right,
    RightsRequest,
    Status,
)

MAJORITY_YEARS = 18
# The edits that answer a rectification request (identity, antécédents, consultations).
RECTIFICATION_EVENTS = (Ev.PATIENT_UPDATED, Ev.HISTORY_UPDATED, Ev.CONSULTATION_UPDATED)
EXPORT_FORMATS = ("pdf", "fhir")


class ActionError(Exception):
    """A refused action. The message is French and names no patient."""


def _today() -> date:
    return timezone.localdate()


# --- Who --------------------------------------------------------------------------------------

def _titulaire_of(actor: Any, patient: Patient) -> Any:
    """The titulaire who answers for this patient, among those the actor works for."""
    from hygie.access.records import practitioner_scope

    scope = practitioner_scope(actor)
    member = (
        CareTeamMember.objects.filter(patient=patient, practitioner_id__in=scope, practitioner__role=Role.TITULAIRE)
        .select_related("practitioner")
        .order_by("added_at")
        .first()
    )
    if member is None:
        raise ActionError("Ce patient n'appartient pas à une patientèle pour laquelle vous travaillez.")
    return member.practitioner


def _require_recorder(actor: Any) -> None:
    if actor is None or not actor.is_active or not role_can(actor.role, Cap.RIGHTS_RECORD):
        raise ActionError("Seuls le praticien titulaire et le secrétariat enregistrent une demande.")


def _require_answerer(actor: Any, request: RightsRequest) -> None:
    if (
        actor is None
        or not actor.is_active
        or not role_can(actor.role, Cap.RIGHTS_ANSWER)
        or actor.pk != request.practitioner_id
    ):
        raise ActionError("Seul le praticien titulaire du patient répond à sa demande.")


def _require_open(request: RightsRequest) -> None:
    if not request.is_open:
        raise ActionError("Cette demande a déjà reçu sa réponse.")
    if request.erased:
        raise ActionError("Le dossier de cette demande a été effacé.")


# --- Recording a request ----------------------------------------------------------------------

def oldest_information(patient: Patient) -> date:
    """The date of the oldest information in the record (CSP L1111-7, "plus de cinq ans"): its
    first consultation, its first document, the last consultation declared by older software, or
    the day the record was started."""
    dates = [timezone.localdate(patient.created_at)]
    first = Consultation.objects.filter(patient=patient).order_by("date").values_list("date", flat=True).first()
    if first is not None:
        dates.append(timezone.localdate(first))
    doc = Document.objects.filter(patient=patient).order_by("created_at").values_list("created_at", flat=True).first()
    if doc is not None:
        dates.append(timezone.localdate(doc))
    if patient.declared_last_visit is not None:
        dates.append(patient.declared_last_visit)
    return min(dates)


def _check_requester(
    *, patient: Patient, right: str, requester: str, received: date, requester_name: str, heir_ground: str,
    quality_seen: str, deceased_objected: bool, minor_objected: bool,
) -> None:
    """The CSP rules on who may ask (L1111-7, L1111-5, L1110-4 V)."""
    adult_on = retention_rules.add_years(patient.birth_date, MAJORITY_YEARS)
    deceased = patient.death_date is not None
    if requester == Requester.PATIENT:
        if deceased:
            raise ActionError("Le patient est décédé : seul un ayant droit peut demander la communication du dossier.")
        return
    if not requester_name.strip():
        raise ActionError("Indiquez le nom du demandeur.")
    if not quality_seen.strip():
        raise ActionError("Indiquez le justificatif de sa qualité qui a été vu (livret de famille, jugement, acte).")
    if requester == Requester.PARENT:
        if deceased:
            raise ActionError("Le patient est décédé : la demande relève d'un ayant droit.")
        if received >= adult_on:
            raise ActionError("L'autorité parentale ne s'exerce que sur un patient mineur à la date de la demande.")
        if minor_objected:
            raise ActionError(
                "Le patient mineur s'est opposé à ce que ses parents soient informés (CSP L1111-5) : "
                "la demande ne peut pas être enregistrée pour eux."
            )
    elif requester == Requester.GUARDIAN:
        if deceased:
            raise ActionError("Le patient est décédé : la demande relève d'un ayant droit.")
        if received < adult_on:
            raise ActionError(
                "La tutelle concerne un patient majeur : pour un mineur, choisissez l'autorité parentale."
            )
    elif requester == Requester.HEIR:
        if not deceased:
            raise ActionError("Un ayant droit ne peut demander que le dossier d'un patient décédé.")
        if right != Right.ACCESS:
            raise ActionError(
                "Un ayant droit ne peut demander que la communication des informations du dossier (CSP L1110-4)."
            )
        if not heir_ground:
            raise ActionError(
                "Indiquez le motif de l'ayant droit : causes de la mort, mémoire du défunt ou faire valoir ses droits."
            )
        if deceased_objected:
            raise ActionError(
                "Le patient s'est opposé de son vivant à la communication de son dossier à ses ayants droit."
            )
    else:
        raise ActionError("Demandeur inconnu.")


@transaction.atomic
def record_request(
    *,
    actor: Any,
    patient: Patient,
    right: str,
    received_at: datetime,
    channel: str,
    requester: str,
    identity_document: str,
    identity_seen: str = "",
    requester_name: str = "",
    quality_seen: str = "",
    heir_ground: str = "",
    deceased_objected: bool = False,
    minor_objected: bool = False,
) -> RightsRequest:
    """Record a request received from a patient, a representative or an heir. The caller fetched
    the patient through hygie.access.records with Cap.RIGHTS_RECORD."""
    _require_recorder(actor)
    if right not in Right.values:
        raise ActionError("Droit inconnu.")
    if timezone.is_naive(received_at):
        received_at = timezone.make_aware(received_at)
    if received_at > timezone.now():
        raise ActionError("La date de réception ne peut pas être dans le futur.")
    if not identity_document:
        raise ActionError("Indiquez la pièce d'identité qui a été vue.")
    practitioner = _titulaire_of(actor, patient)
    received_day = timezone.localdate(received_at)
    _check_requester(
        patient=patient, right=right, requester=requester, received=received_day,
        requester_name=requester_name, heir_ground=heir_ground, quality_seen=quality_seen,
        deceased_objected=deceased_objected, minor_objected=minor_objected,
    )
    old = right == Right.ACCESS and rules.is_old_information(oldest_information(patient), received_day)
    deadline = rules.deadline(right, timezone.localtime(received_at), old_information=old)
    request = RightsRequest.objects.create(
        patient=patient,
        patient_code=patient.code,
        practitioner=practitioner,
        right=right,
        received_at=received_at,
        channel=channel,
        requester=requester,
        requester_name=requester_name.strip() if requester != Requester.PATIENT else "",
        heir_ground=heir_ground if requester == Requester.HEIR else "",
        identity_document=identity_document,
        identity_seen=identity_seen.strip(),
        quality_seen=quality_seen.strip() if requester != Requester.PATIENT else "",
        identity_checked_by=actor,
        old_information=old,
        earliest_at=deadline.earliest,
        due_on=deadline.due,
        rule=deadline.rule,
        created_by=actor,
    )
    journal.record(
        Ev.RIGHTS_REQUEST_RECORDED,
        actor=actor,
        target=patient,
        details={
            "request": str(request.public_id),
            "right": right,
            "requester": requester,
            "channel": channel,
            "identity_document": identity_document,
            "due_on": deadline.due.isoformat(),
            "rule": deadline.rule,
        },
    )
    return request


def deadline_of(request: RightsRequest) -> rules.Deadline:
    return rules.deadline(
        request.right, timezone.localtime(request.received_at),
        old_information=request.old_information, extended_on=request.extended_on,
    )


@transaction.atomic
def extend(*, actor: Any, request: RightsRequest, notice_on: date, reason: str) -> RightsRequest:
    """RGPD art. 12.3: two more months, the patient told (with the reasons) within the first."""
    _require_answerer(actor, request)
    _require_open(request)
    if request.extended_on is not None:
        raise ActionError("Le délai de cette demande a déjà été prolongé.")
    if reason not in ("complexite", "nombre"):
        raise ActionError("Indiquez le motif de la prolongation : complexité ou nombre de demandes.")
    try:
        rules.check_extension(request.right, timezone.localtime(request.received_at), notice_on, today=_today())
    except rules.RightsInputError as exc:
        raise ActionError(str(exc)) from None
    request.extended_on = notice_on
    deadline = deadline_of(request)
    request.due_on, request.rule = deadline.due, deadline.rule
    request.save(update_fields=["extended_on", "due_on", "rule"])
    journal.record(
        Ev.RIGHTS_REQUEST_EXTENDED,
        actor=actor,
        target=request.patient,
        details={
            "request": str(request.public_id),
            "notice_on": notice_on.isoformat(),
            "due_on": request.due_on.isoformat(),
            "reason": reason,
        },
    )
    return request


# --- Answers -----------------------------------------------------------------------------------

def _exports_of(request: RightsRequest) -> int:
    return Event.objects.filter(action=Ev.RIGHTS_EXPORTED, details__request=str(request.public_id)).count()


def _rectifications_since(request: RightsRequest) -> list[int]:
    return list(
        Event.objects.filter(
            action__in=[e.value for e in RECTIFICATION_EVENTS],
            patient_id=request.patient_id,
            at__gte=request.received_at,
        ).values_list("pk", flat=True)
    )


def _close(request: RightsRequest, *, actor: Any, status: str, ground: str = "", note: str = "",
           kept_until: date | None = None) -> None:
    request.status = status
    request.answered_on = _today()
    request.answered_by = actor
    request.refusal_ground = ground
    request.kept_until = kept_until
    request.answer_note = note.strip()
    request.save(
        update_fields=["status", "answered_on", "answered_by", "refusal_ground", "kept_until", "answer_note"]
    )


def _require_floor(request: RightsRequest) -> None:
    if request.earliest_at is not None and timezone.now() < request.earliest_at:
        raise ActionError(
            "Le délai de réflexion de 48 heures (CSP L1111-7) court jusqu'au "
            f"{timezone.localtime(request.earliest_at).strftime('%d/%m/%Y à %H:%M')} : le dossier ne peut "
            "pas être communiqué avant."
        )


@transaction.atomic
def answer(*, actor: Any, request: RightsRequest, note: str = "") -> RightsRequest:
    """Record that the request was answered, with what proves it: an export journaled with the
    request (access, portability), the edits made since it was received (rectification), a
    restriction set (restriction, objection). Erasure has its own decision (decide_erasure)."""
    _require_answerer(actor, request)
    _require_open(request)
    details: dict[str, Any] = {"request": str(request.public_id), "right": request.right}
    if request.right in (Right.ACCESS, Right.PORTABILITY):
        _require_floor(request)
        exports = _exports_of(request)
        if not exports:
            raise ActionError("Aucun export n'a encore été remis pour cette demande : téléchargez-le d'abord.")
        details["exports"] = exports
    elif request.right == Right.RECTIFICATION:
        changes = _rectifications_since(request)
        if not changes:
            raise ActionError(
                "Aucune rectification enregistrée depuis la demande : modifiez d'abord l'identité, "
                "les antécédents ou la consultation concernés."
            )
        details["changes"] = changes
    elif request.right in (Right.RESTRICTION, Right.OBJECTION):
        flags = list(request.restrictions.values_list("processing", flat=True))
        if not flags:
            raise ActionError("Aucun traitement n'a été bloqué pour cette demande : choisissez-le d'abord.")
        details["processing"] = flags
    else:
        raise ActionError("Une demande d'effacement se décide depuis l'écran de décision d'effacement.")
    _close(request, actor=actor, status=Status.ANSWERED, note=note)
    details["on_time"] = request.answered_on is not None and request.answered_on <= request.due_on
    journal.record(Ev.RIGHTS_REQUEST_ANSWERED, actor=actor, target=request.patient, details=details)
    return request


@transaction.atomic
def refuse(*, actor: Any, request: RightsRequest, ground: str, note: str = "") -> RightsRequest:
    """Refuse a request on a ground the texts allow; the note (to the patient) stays encrypted."""
    _require_answerer(actor, request)
    _require_open(request)
    if ground not in RefusalGround.values:
        raise ActionError("Indiquez le motif du refus.")
    if request.right == Right.ERASURE:
        raise ActionError("Une demande d'effacement se décide depuis l'écran de décision d'effacement.")
    if ground == RefusalGround.RETENTION:
        raise ActionError("L'obligation de conservation ne justifie que le refus d'un effacement.")
    if len(note.strip()) < 10:
        raise ActionError("Expliquez le refus au patient (au moins 10 caractères) : il est conservé comme preuve.")
    _close(request, actor=actor, status=Status.REFUSED, ground=ground, note=note)
    journal.record(
        Ev.RIGHTS_REQUEST_REFUSED,
        actor=actor,
        target=request.patient,
        details={"request": str(request.public_id), "right": request.right, "ground": ground},
    )
    return request


# --- Exports ------------------------------------------------------------------------------------

def export(
    *, actor: Any, request: RightsRequest, fmt: str, material: dict[str, Any], via: str = "web", archive: str = ""
) -> bytes:
    """The copy that answers an access or portability request, journaled with it in the same
    transaction. It is returned to be downloaded, never written to the data directory."""
    from hygie.rights import fhir, pdf

    _require_answerer(actor, request)
    if request.erased:
        raise ActionError("Le dossier de cette demande a été effacé.")
    if request.status == Status.REFUSED:
        raise ActionError("Cette demande a été refusée : aucun export ne lui répond.")
    if request.right not in (Right.ACCESS, Right.PORTABILITY):
        raise ActionError("Seules la communication du dossier et la portabilité donnent lieu à un export.")
    if fmt not in EXPORT_FORMATS:
        raise ActionError("Format inconnu : pdf ou fhir.")
    _require_floor(request)
    patient = request.patient
    assert patient is not None
    if fmt == "pdf":
        data = pdf.record_pdf(patient=patient, material=material, request=request, author=actor)
    else:
        data = fhir.bundle_json(patient=patient, material=material)
    with transaction.atomic():
        journal.record(
            Ev.RIGHTS_EXPORTED,
            actor=actor,
            target=patient,
            actor_role=_role(via),
            details={
                "request": str(request.public_id),
                "format": fmt,
                "bytes": len(data),
                "documents": len(material["documents"]),
                "via": via,
                **({"archive": archive} if archive else {}),
            },
        )
    return data


def export_name(patient: Patient, fmt: str) -> str:
    """A neutral file name: the file ends up in a downloads folder."""
    return f"dossier-{patient.code}.pdf" if fmt == "pdf" else f"dossier-{patient.code}.fhir.json"


def export_archive(
    *, actor: Any, request: RightsRequest, fmt: str, material: dict[str, Any], out: Path, via: str = "web"
) -> str:
    """The same copy, leaving as a 7z AES archive (hygie.exchange, issue 10): the export and the
    archive are journaled together, with the request (`patient:rights:exported` with "archive",
    `exchange:files:archived` with "request"), or not at all. The passphrase is returned, stored nowhere."""
    from hygie.exchange import actions as exchange

    try:
        exchange.refuse_during_lockdown(actor, Ev.EXCHANGE_FILES_ARCHIVED)
        with transaction.atomic():
            data = export(actor=actor, request=request, fmt=fmt, material=material, via=via, archive="7z")
            patient = request.patient
            assert patient is not None
            return exchange.archive_files(
                actor=actor, actor_role=_role(via), paths=[], members=[(export_name(patient, fmt), data)],
                out=out, purpose="rights", details={"request": str(request.public_id), "format": fmt},
            )
    except exchange.ActionError as exc:
        raise ActionError(str(exc)) from None


def _role(via: str) -> str | None:
    if via == "cli":
        from hygie.core.actions import CLI_ROLE

        return CLI_ROLE
    return None


# --- Erasure (RGPD art. 17, weighed against the legal retention) --------------------------------

@dataclass(frozen=True)
class ErasureAssessment:
    decision: retention_rules.Decision
    today: date

    @property
    def retention_over(self) -> bool:
        return self.decision.expires is not None and self.decision.expires <= self.today

    @property
    def held(self) -> bool:
        return self.decision.expires is None


def assess_erasure(request: RightsRequest) -> ErasureAssessment:
    from hygie.access.records import retention_patients_by_id
    from hygie.retention import actions as retention_actions

    if request.patient_id is None:
        raise ActionError("Le dossier de cette demande a été effacé.")
    patient = retention_patients_by_id([request.patient_id]).get()
    return ErasureAssessment(retention_actions.decide(patient), _today())


@transaction.atomic
def refuse_erasure(*, actor: Any, request: RightsRequest, note: str = "") -> RightsRequest:
    """Refuse an erasure the legal retention forbids: the ground and the date until which the
    record must be kept go into the register and the answer."""
    _require_answerer(actor, request)
    _require_open(request)
    if request.right != Right.ERASURE:
        raise ActionError("Cette demande ne porte pas sur l'effacement.")
    assessment = assess_erasure(request)
    if assessment.retention_over:
        raise ActionError(
            "La durée légale de conservation de ce dossier est écoulée : l'obligation de conservation "
            "ne justifie plus de refuser l'effacement."
        )
    _close(request, actor=actor, status=Status.REFUSED, ground=RefusalGround.RETENTION, note=note,
           kept_until=assessment.decision.expires)
    journal.record(
        Ev.RIGHTS_REQUEST_REFUSED,
        actor=actor,
        target=request.patient,
        details={
            "request": str(request.public_id),
            "right": request.right,
            "ground": RefusalGround.RETENTION.value,
            "rule": assessment.decision.rule,
            "kept_until": None if assessment.decision.expires is None else assessment.decision.expires.isoformat(),
        },
    )
    return request


@transaction.atomic
def accept_erasure(*, actor: Any, request: RightsRequest) -> dict[str, str]:
    """The retention is over and no hold protects the record: it is destroyed through the purge
    (crypto-shredding, erasure register), with the request as its reason. The request stays in
    the register under the patient's code."""
    from hygie.retention import actions as retention_actions

    _require_answerer(actor, request)
    _require_open(request)
    if request.right != Right.ERASURE:
        raise ActionError("Cette demande ne porte pas sur l'effacement.")
    assessment = assess_erasure(request)
    if assessment.held:
        raise ActionError(
            "Une suspension (réclamation ou recours) protège ce dossier : il doit être conservé tant "
            "qu'elle n'est pas levée. Refusez l'effacement en citant l'obligation de conservation."
        )
    if not assessment.retention_over:
        assert assessment.decision.expires is not None
        raise ActionError(
            "Ce dossier doit être conservé jusqu'au "
            f"{retention_rules.fr_date(assessment.decision.expires)} ({assessment.decision.rule}) : "
            "l'effacement ne peut pas être accepté avant. Refusez-le en citant l'obligation de conservation."
        )
    patient = request.patient
    assert patient is not None
    _close(request, actor=actor, status=Status.ANSWERED)
    journal.record(
        Ev.RIGHTS_ERASURE_ACCEPTED,
        actor=actor,
        target=patient,
        details={"request": str(request.public_id), "rule": assessment.decision.rule},
    )
    try:
        done = retention_actions.purge(
            actor=actor, practitioner=actor, patient_ids=[patient.pk], via="web", request=str(request.public_id)
        )
    except retention_actions.ActionError as exc:
        raise ActionError(str(exc)) from None
    if len(done) != 1:
        raise ActionError("Le dossier n'a pas pu être détruit : rien n'a été changé.")
    return done[0]


# --- Restriction and objection (RGPD art. 18, 21) ----------------------------------------------

@transaction.atomic
def set_restriction(*, actor: Any, request: RightsRequest, processing: str) -> RecordRestriction:
    _require_answerer(actor, request)
    _require_open(request)
    if request.right not in (Right.RESTRICTION, Right.OBJECTION):
        raise ActionError("Seules une limitation ou une opposition bloquent un traitement.")
    if processing not in Processing.values:
        raise ActionError("Traitement inconnu.")
    patient = request.patient
    assert patient is not None
    existing = RecordRestriction.objects.filter(patient=patient, processing=processing, lifted_at__isnull=True).first()
    if existing is not None:
        raise ActionError("Ce traitement est déjà bloqué pour ce dossier.")
    kind = RestrictionKind.RESTRICTION if request.right == Right.RESTRICTION else RestrictionKind.OBJECTION
    restriction = RecordRestriction.objects.create(
        patient=patient, request=request, kind=kind, processing=processing, set_by=actor
    )
    journal.record(
        Ev.RIGHTS_RESTRICTION_SET,
        actor=actor,
        target=patient,
        details={"request": str(request.public_id), "restriction": str(restriction.public_id),
                 "kind": kind.value, "processing": processing},
    )
    return restriction


@transaction.atomic
def lift_restriction(*, actor: Any, restriction: RecordRestriction) -> None:
    patient = restriction.patient
    if (
        actor is None
        or not actor.is_active
        or not role_can(actor.role, Cap.RIGHTS_ANSWER)
        or not CareTeamMember.objects.filter(patient=patient, practitioner_id=actor.pk).exists()
    ):
        raise ActionError("Seul un praticien titulaire de l'équipe de soins lève une limitation.")
    if not restriction.in_force:
        raise ActionError("Cette limitation est déjà levée.")
    restriction.lifted_at = timezone.now()
    restriction.lifted_by = actor
    restriction.save(update_fields=["lifted_at", "lifted_by"])
    journal.record(
        Ev.RIGHTS_RESTRICTION_LIFTED,
        actor=actor,
        target=patient,
        details={"restriction": str(restriction.public_id), "processing": restriction.processing},
    )

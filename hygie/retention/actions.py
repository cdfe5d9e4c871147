"""Every change retention makes. Each action writes its journal event in its transaction.

The rules are in hygie.lib.retention (pure); this module feeds them a record's live data and acts
on the decision: legal holds, the state lists filter on, opening an archived record, the purge of
expired records (approved by a titulaire, or automatic after a notice), and the purges of the
other data (appointments, care-sheet copies, billing entries, departed staff accounts).
Journal events carry ids, counts, dates and rule tags only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hygie.access import records
from hygie.access.policy import Cap, Role, role_can
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.lib import retention
from hygie.patients import actions as patient_actions
from hygie.patients.models import Patient
from hygie.retention.models import ArchiveAccess, LegalHold, PurgeNotice, RetentionState

HOLD_MIN_REASON = 10
ARCHIVE_MIN_REASON = 10


class ActionError(Exception):
    """A refused action. The message is French and names no patient."""


def _today() -> date:
    return timezone.localdate()


# --- What the engine is fed ---------------------------------------------------------------

def last_visit(patient: Patient) -> date:
    """The last consultation: the latest of the record's consultations and the date declared for
    a record migrated from older software; a record with neither counts from its creation."""
    latest = getattr(patient, "last_consultation", None)
    if latest is None and not hasattr(patient, "last_consultation"):
        latest = patient.consultations.order_by("-date").values_list("date", flat=True).first()
    dates = [timezone.localdate(latest)] if latest is not None else []
    if patient.declared_last_visit is not None:
        dates.append(patient.declared_last_visit)
    return max(dates) if dates else timezone.localdate(patient.created_at)


def holds_of(patient: Patient) -> list[retention.Hold]:
    return [retention.Hold(h.started_on, h.ended_on) for h in patient.legal_holds.all()]


def decide(patient: Patient) -> retention.Decision:
    """The record's expiry, rule and explanation, from its live data. Dates were checked when
    they were entered; a record whose dates became impossible anyway is kept (no expiry)."""
    try:
        return retention.expiry(
            birth=patient.birth_date,
            last_visit=last_visit(patient),
            death=patient.death_date,
            holds=holds_of(patient),
        )
    except retention.RetentionInputError:
        return retention.Decision(None, "?", "Dates incohérentes dans le dossier : conservé jusqu'à correction.")


def _store(patient: Patient, decision: retention.Decision, now: datetime) -> None:
    RetentionState.objects.update_or_create(
        patient=patient,
        defaults={
            "last_intervention": last_visit(patient),
            "expires_on": decision.expires,
            "rule": decision.rule,
            "computed_at": now,
        },
    )


def refresh(patients: Iterable[Patient]) -> int:
    """Recompute the state of these records (after an import, a hold, the daily job)."""
    now = timezone.now()
    count = 0
    for patient in records.retention_patients_by_id(p.pk for p in patients):
        _store(patient, decide(patient), now)
        count += 1
    return count


def refresh_all() -> int:
    now = timezone.now()
    count = 0
    for patient in records.all_patients_for_retention().iterator(chunk_size=500):
        _store(patient, decide(patient), now)
        count += 1
    return count


# --- Legal holds (RET-4) ------------------------------------------------------------------

def _require_titulaire(actor: Any, patient: Patient) -> None:
    if (
        actor is None
        or not actor.is_active
        or actor.role != Role.TITULAIRE
        or not role_can(actor.role, Cap.RETENTION_MANAGE)
        or not patient.care_team.filter(practitioner=actor).exists()
    ):
        raise ActionError("Seul un praticien titulaire de l'équipe de soins peut suspendre ou détruire ce dossier.")


@transaction.atomic
def set_hold(*, actor: Any, patient: Patient, started_on: date, reason: str, ended_on: date | None = None) -> LegalHold:
    """A claim on the practitioner's liability suspends the record's retention (RET-4)."""
    _require_titulaire(actor, patient)
    reason = (reason or "").strip()
    if len(reason) < HOLD_MIN_REASON:
        raise ActionError("Le motif de la suspension doit faire au moins 10 caractères.")
    try:
        retention.check_hold(retention.Hold(started_on, ended_on), today=_today())
    except retention.RetentionInputError as exc:
        raise ActionError(str(exc)) from None
    if ended_on is not None and ended_on > _today():
        raise ActionError("La fin d'une suspension ne peut pas être dans le futur : laissez-la vide.")
    hold = LegalHold.objects.create(
        patient=patient, started_on=started_on, ended_on=ended_on, reason=reason, set_by=actor
    )
    # The reason may name the claim: it stays in the (encrypted) hold row, never in the journal.
    journal.record(
        Ev.RETENTION_HOLD_SET,
        actor=actor,
        target=patient,
        details={"hold": str(hold.public_id), "started_on": started_on.isoformat(), "open": ended_on is None},
    )
    PurgeNotice.objects.filter(patient=patient).delete()
    refresh([patient])
    return hold


@transaction.atomic
def lift_hold(*, actor: Any, hold: LegalHold, ended_on: date) -> None:
    patient = hold.patient
    _require_titulaire(actor, patient)
    if hold.ended_on is not None:
        raise ActionError("Cette suspension est déjà levée.")
    try:
        retention.check_hold(retention.Hold(hold.started_on, ended_on))
    except retention.RetentionInputError as exc:
        raise ActionError(str(exc)) from None
    if ended_on > _today():
        raise ActionError("La fin d'une suspension ne peut pas être dans le futur.")
    hold.ended_on = ended_on
    hold.lifted_by = actor
    hold.lifted_at = timezone.now()
    hold.save(update_fields=["ended_on", "lifted_by", "lifted_at"])
    journal.record(
        Ev.RETENTION_HOLD_LIFTED,
        actor=actor,
        target=patient,
        details={
            "hold": str(hold.public_id),
            "ended_on": ended_on.isoformat(),
            "days": (ended_on - hold.started_on).days,
        },
    )
    refresh([patient])


# --- Intermediate archive (RET-7) ---------------------------------------------------------

@transaction.atomic
def open_archive(*, actor: Any, patient: Patient, reason: str) -> ArchiveAccess:
    """A titulaire opens one of their archived records, giving a reason (journaled; the alerts
    flag it like an emergency access). The reason stays in the encrypted access row."""
    _require_titulaire(actor, patient)
    reason = (reason or "").strip()
    if len(reason) < ARCHIVE_MIN_REASON:
        raise ActionError("Le motif doit faire au moins 10 caractères.")
    access = ArchiveAccess.objects.create(
        user=actor,
        patient=patient,
        reason=reason,
        expires_at=timezone.now() + timedelta(hours=settings.ARCHIVE_ACCESS_HOURS),
    )
    journal.record(
        Ev.ARCHIVE_OPENED,
        actor=actor,
        target=patient,
        details={"access": str(access.public_id), "hours": settings.ARCHIVE_ACCESS_HOURS},
    )
    return access


# --- Purge of expired records --------------------------------------------------------------

@dataclass(frozen=True)
class Due:
    patient: Patient
    decision: retention.Decision

    @property
    def expired_on(self) -> date:
        assert self.decision.expires is not None
        return self.decision.expires


def due(practitioner: Any, *, today: date | None = None, only: Iterable[int] | None = None) -> list[Due]:
    """The records of this titulaire (or those of `only` among them) whose time has run out and
    that no hold protects, from their live data (never from the cached state)."""
    today = today or _today()
    found = []
    patients = records.patientele(practitioner)
    if only is not None:
        patients = patients.filter(pk__in=list(only))
    for patient in patients.order_by("pk"):
        decision = decide(patient)
        if decision.expires is not None and decision.expires <= today:
            found.append(Due(patient, decision))
    return sorted(found, key=lambda d: (d.expired_on, d.patient.code))


def due_from_state(practitioner: Any, *, today: date | None = None) -> list[Due]:
    """For the "À détruire" page: the records the daily job found due, each recomputed (a hold
    or a consultation since then takes it off the list)."""
    today = today or _today()
    candidates = records.patientele(practitioner).filter(retention_state__expires_on__lte=today)
    found = []
    for patient in candidates.order_by("pk"):
        decision = decide(patient)
        if decision.expires is not None and decision.expires <= today:
            found.append(Due(patient, decision))
    return sorted(found, key=lambda d: (d.expired_on, d.patient.code))


def purge(
    *,
    actor: Any,
    practitioner: Any,
    patient_ids: Iterable[int] | None = None,
    via: str,
    today: date | None = None,
    request: str | None = None,
) -> list[dict[str, str]]:
    """Destroy, for good, the due records of `practitioner` (all, or those of `patient_ids`).

    Each record is recomputed first and destroyed only if due now and unprotected: the erase
    that exists (crypto-shredding, hygie.patients.actions.erase_patient), with the rule and the
    expiry written to the erasure register; then one journal event for the decision. `via` is
    "web" (the titulaire, re-authenticated), "cli" (the operator at the machine, for the
    titulaire) or "automatic" (HYGIE_RETENTION_AUTO_PURGE, after the notice). `request`: the
    public id of the patient's erasure request that this purge answers (hygie.rights), journaled.
    """
    if practitioner is None or practitioner.role != Role.TITULAIRE or not practitioner.is_active:
        raise ActionError("La destruction se fait au nom d'un praticien titulaire actif.")
    if via == "web" and actor != practitioner:
        raise ActionError("Seul le titulaire approuve la destruction de ses dossiers.")
    wanted = None if patient_ids is None else set(patient_ids)
    done: list[dict[str, str]] = []
    from hygie.keys import erasure

    erasure.sync_file()  # an earlier purge killed after its commit: its register lines first
    with transaction.atomic():
        for item in due(practitioner, today=today, only=wanted):
            entry = {
                "patient": item.patient.code,
                "expired_on": item.expired_on.isoformat(),
                "rule": item.decision.rule,
            }
            patient_actions.erase_patient(
                actor=None if via == "automatic" else practitioner,
                patient=item.patient,
                retention={
                    "rule": item.decision.rule,
                    "expired_on": item.expired_on,
                    "via": via,
                    **({"request": request} if request else {}),
                },
                actor_role=_role(via),
            )
            done.append(entry)
        if done:
            journal.record(
                Ev.RETENTION_PURGE_APPROVED,
                actor=None if via == "automatic" else practitioner,
                actor_role=_role(via),
                target=practitioner,
                details={
                    "via": via,
                    "practitioner": practitioner.pk,
                    "count": len(done),
                    "rules": dict(Counter(d["rule"] for d in done)),
                },
            )
    return done


def _role(via: str) -> str | None:
    """The journal's role column: the operator's command line says so; the job has none."""
    from hygie.core.actions import CLI_ROLE

    return {"cli": CLI_ROLE, "automatic": ""}.get(via)


# --- Automatic purge (off by default) ------------------------------------------------------

def give_notices(*, today: date | None = None) -> int:
    """Automatic purge: a notice for each record newly found due; it is destroyed no sooner
    than AUTO_PURGE_NOTICE_DAYS later, and only if still due then."""
    today = today or _today()
    count = 0
    with transaction.atomic():
        known = set(PurgeNotice.objects.values_list("patient_id", flat=True))
        for patient in records.all_patients_for_retention().filter(retention_state__expires_on__lte=today):
            if patient.pk in known:
                continue
            decision = decide(patient)
            if decision.expires is None or decision.expires > today:
                continue
            PurgeNotice.objects.create(
                patient=patient,
                expires_on=decision.expires,
                rule=decision.rule,
                purge_after=today + timedelta(days=retention.AUTO_PURGE_NOTICE_DAYS),
            )
            count += 1
        if count:
            journal.record(
                Ev.RETENTION_NOTICE, details={"count": count, "days": retention.AUTO_PURGE_NOTICE_DAYS}
            )
    return count


def auto_purge(*, today: date | None = None) -> int:
    """Destroy the records whose notice has run out and that are still due (per titulaire)."""
    from hygie.accounts.models import User

    today = today or _today()
    ripe = PurgeNotice.objects.filter(purge_after__lte=today)
    by_owner: dict[int, set[int]] = {}
    for patient_id, owner in ripe.values_list("patient_id", "patient__care_team__practitioner_id"):
        if owner is not None:
            by_owner.setdefault(owner, set()).add(patient_id)
    count = 0
    for owner in User.objects.filter(pk__in=by_owner, role=Role.TITULAIRE, is_active=True).order_by("pk"):
        ids = by_owner[owner.pk]
        count += len(purge(actor=None, practitioner=owner, patient_ids=ids, via="automatic", today=today))
    # What is left of the ripe notices names records no longer due (a hold, a new consultation):
    # they go, and a new notice starts over if the record falls due again.
    PurgeNotice.objects.filter(purge_after__lte=today).delete()
    return count


# --- The other data -------------------------------------------------------------------------
# Each purge writes one journal event with its count only (RET-5, RET-6, RET-8, LOG-2).

def _purged(kind: str, count: int, **extra: Any) -> int:
    if count:
        journal.record(Ev.RETENTION_DATA_PURGED, details={"kind": kind, "count": count, **extra})
    return count


@transaction.atomic
def purge_old_appointments(*, today: date | None = None) -> int:
    """RET-6: appointments older than HYGIE_APPOINTMENT_RETENTION_MONTHS go; the record keeps
    its consultations (their reasons went as soon as they had passed: clear_past_reasons)."""
    from hygie.agenda.models import Appointment

    today = today or _today()
    months = int(settings.APPOINTMENT_RETENTION_MONTHS)
    before = timezone.make_aware(datetime.combine(retention.add_months(today, -months), datetime.min.time()))
    count, _ = Appointment.objects.filter(start__lt=before).delete()
    return _purged("appointments", count, months=months)


@transaction.atomic
def purge_care_sheet_copies(*, today: date | None = None) -> int:
    """RET-5: the electronic copy of a care sheet — the acts, which tell the care given — is kept
    3 months; the billing entry (date, amount, paid) stays for the accounting period."""
    from hygie.billing.models import CareSheet

    today = today or _today()
    before = retention.add_months(today, -retention.CARE_SHEET_COPY_MONTHS)
    count = 0
    # `acts` is encrypted: which sheets still hold a copy is read here, not in SQL.
    for sheet in CareSheet.objects.filter(date__lt=before).iterator(chunk_size=500):
        if sheet.acts:
            sheet.acts = ""
            sheet.save(update_fields=["acts"])
            count += 1
    return _purged("care_sheet_copies", count, months=retention.CARE_SHEET_COPY_MONTHS)


@transaction.atomic
def purge_billing_entries(*, today: date | None = None) -> int:
    """RET-8: billing entries older than the accounting period (HYGIE_ACCOUNTING_RETENTION_YEARS)."""
    from hygie.billing.models import CareSheet

    today = today or _today()
    years = int(settings.ACCOUNTING_RETENTION_YEARS)
    count, _ = CareSheet.objects.filter(date__lt=retention.add_years(today, -years)).delete()
    return _purged("billing_entries", count, years=years)


FORMER_ACCOUNT_PREFIX = "ancien-compte-"


@transaction.atomic
def purge_departed_accounts(*, now: datetime | None = None) -> int:
    """Staff accounts deactivated for longer than the journal window lose their personal data
    (names, e-mail, birth date, profession, second factors, password) but keep their row: the
    journal still points to the same id and role, under a neutral name."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    from hygie.accounts.models import User

    now = now or timezone.now()
    before = now - timedelta(days=int(settings.JOURNAL_RETENTION_DAYS))
    departed = User.objects.filter(is_active=False, deactivated_at__lt=before).exclude(
        username__startswith=FORMER_ACCOUNT_PREFIX
    )
    count = 0
    for user in departed:
        user.username = f"{FORMER_ACCOUNT_PREFIX}{user.pk}"
        user.first_name = user.last_name = user.email = user.profession = ""
        user.birth_date = None
        user.set_unusable_password()
        user.save()
        Authenticator.objects.filter(user=user).delete()
        EmailAddress.objects.filter(user=user).delete()
        journal.record(Ev.ACCOUNT_PERSONAL_DATA_PURGED, target=user, details={"role": user.role})
        count += 1
    return count


# --- The daily job --------------------------------------------------------------------------

def daily(*, today: date | None = None) -> dict[str, int]:
    """Recompute every record's state, count what is due; with automatic purge on, give the
    notices and destroy what has served its notice. Counts only."""
    today = today or _today()
    with transaction.atomic():
        refreshed = refresh_all()
        due_count = RetentionState.objects.filter(expires_on__lte=today).count()
        journal.record(Ev.RETENTION_DUE, details={"records": refreshed, "due": due_count})
    result = {"records": refreshed, "due": due_count, "notices": 0, "purged": 0}
    if settings.RETENTION_AUTO_PURGE:
        result["purged"] = auto_purge(today=today)
        result["notices"] = give_notices(today=today)
    return result


def notices_for(patients: Iterable[Patient]) -> list[PurgeNotice]:
    return list(PurgeNotice.objects.filter(patient__in=[p.pk for p in patients]))

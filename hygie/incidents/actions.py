"""Every change the incidents capability makes (docs/incidents.md). Each action writes its
journal event in its transaction; events carry ids, counts, stages and field names, never the
texts typed (an incident's description may name a patient or hold medical words)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hygie.access import records
from hygie.access.policy import Cap, Role
from hygie.accounts.models import User
from hygie.audit import alerts, journal
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import AlertKind, Event, Severity
from hygie.incidents import lockdown as state
from hygie.incidents import switch
from hygie.incidents.models import Contacts, Entry, Incident, Lockdown, Notification, PatientNotice
from hygie.lib import breach
from hygie.lib.breach import Art34

MIN_REASON = 5
CLI = "cli"


class ActionError(Exception):
    """A refused action. The message is French and names no patient."""


def _role(actor: Any) -> str | None:
    return None if actor is not None else CLI


def _alert(event: Event, key: str, severity: str, **details: Any) -> None:
    alerts.raise_alert(
        alerts.Found(kind=AlertKind.INCIDENT, key=key[:80], event_ids=[event.pk], severity=severity, details=details)
    )


# --- The emergency switch -------------------------------------------------------------------


@transaction.atomic
def start_lockdown(*, actor: Any, reason: str, allow: User | None = None) -> Lockdown:
    """« Isoler Hygie »: every session ends (each account's session epoch is bumped: the check
    is against the database, so sessions served by other processes end too), new logins are
    refused, downloads, exports and archives too, backups stop except to locked destinations.
    The steps are hygie.incidents.switch's; their counts and times stay in the row. An
    exercise runs the same steps in simulation: simulate_lockdown."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ActionError("Indiquez en quelques mots le motif de l'isolement.")
    if actor is not None and not records.can(actor, Cap.INCIDENT_MANAGE):
        raise ActionError("Votre rôle ne permet pas d'isoler Hygie.")
    if state.is_active():
        raise ActionError("Hygie est déjà isolé.")
    if allow is not None:
        _check_allowed(allow)
    row = _run_switch(actor=actor, reason=reason, allow=allow, incident=None)
    counts = {s["key"]: s["count"] for s in row.steps}
    event = journal.record(
        Ev.LOCKDOWN_STARTED, actor=actor, actor_role=_role(actor), target=row, with_id=True,
        details={"lockdown": str(row.public_id), "exercise": False, "sessions": counts["sessions"],
                 "accounts_refused": counts["logins"], "destinations_stopped": counts["backups"],
                 "admin_allowed": allow.pk if allow else None},
    )
    _alert(event, f"lockdown:{row.public_id}", Severity.CRITICAL, lockdown=str(row.public_id))
    return row


def _run_switch(*, actor: Any, reason: str, allow: User | None, incident: Incident | None) -> Lockdown:
    """The switch's row, then its steps (for real, or in simulation when `incident` is an
    exercise). The row first: from that instant every guard refuses (a real row only)."""
    exercise = incident is not None
    row = Lockdown.objects.create(
        started_at=timezone.now(), started_by=actor, reason=reason, exercise=exercise, incident=incident,
        channel="web" if actor is not None else CLI, allowed_user=allow,
    )
    steps = switch.lockdown_steps(dry_run=exercise, allowed=allow)
    row.steps = [{"phase": "lockdown", **step.as_dict()} for step in steps]
    row.save(update_fields=["steps"])
    return row


def _check_allowed(user: User) -> None:
    if user.role != Role.ADMIN or not user.is_active:
        raise ActionError("Seul un compte administrateur actif peut être autorisé pendant l'isolement.")


@transaction.atomic
def allow_admin(*, user: User) -> Lockdown:
    """At the machine only (CLI): the one admin account that may sign in during the lockdown,
    to run the incident pages. Replaces a previous choice (whose sessions end)."""
    row = state.current()
    if row is None:
        raise ActionError("Hygie n'est pas isolé.")
    _check_allowed(user)
    previous = row.allowed_user
    row.allowed_user = user
    row.save(update_fields=["allowed_user"])
    if previous is not None and previous.pk != user.pk:
        User.objects.filter(pk=previous.pk).update(session_epoch=F("session_epoch") + 1)
    journal.record(Ev.LOCKDOWN_ALLOWED, actor_role=CLI, target=user, details={"lockdown": str(row.public_id)})
    return row


def lift_needs_confirmation(actor: Any) -> bool:
    """A second admin or referent confirms a lift from the web when the practice has one."""
    return User.objects.filter(is_active=True, role__in=[Role.ADMIN, Role.REFERENT]).exclude(pk=actor.pk).exists()


@transaction.atomic
def lift_lockdown(*, actor: Any, confirmer: User | None = None) -> Lockdown:
    """Restore service. `actor` None: the administrator at the machine (CLI). From the web:
    an admin (incident:lift), re-authenticated by the view, and a second admin or referent
    whose password and code the view checked (`confirmer`) when the practice has one."""
    row = state.current()
    if row is None:
        raise ActionError("Hygie n'est pas isolé.")
    if actor is not None:
        if not records.can(actor, Cap.INCIDENT_LIFT):
            refused(actor, "lift")
            raise ActionError("Seul un administrateur peut lever l'isolement depuis le navigateur.")
        if lift_needs_confirmation(actor):
            if confirmer is None:
                raise ActionError("Un second administrateur ou le référent doit confirmer la levée.")
            if confirmer.pk == actor.pk or confirmer.role not in (Role.ADMIN, Role.REFERENT) or not confirmer.is_active:
                raise ActionError("La confirmation doit venir d'un autre administrateur ou du référent.")
    row.lifted_at = timezone.now()
    row.lifted_by = actor
    row.confirmed_by = confirmer
    # The allowed admin's session was a crisis session: it ends with the crisis.
    steps = switch.lift_steps(dry_run=False, actor=actor, allowed_id=row.allowed_user_id)
    row.steps = [*row.steps, *({"phase": "lift", **s.as_dict()} for s in steps)]
    row.save(update_fields=["lifted_at", "lifted_by", "confirmed_by", "steps"])
    event = journal.record(
        Ev.LOCKDOWN_LIFTED, actor=actor, actor_role=_role(actor), target=row, with_id=True,
        details={"lockdown": str(row.public_id), "confirmed_by": confirmer.pk if confirmer else None,
                 "minutes": int((row.lifted_at - row.started_at).total_seconds() // 60)},
    )
    _alert(event, f"lockdown-lifted:{row.public_id}", Severity.WARNING, lockdown=str(row.public_id))
    return row


def refused(actor: Any, what: str) -> None:
    """Journal a refusal because of the lockdown (a login, a download, a backup, a lift).
    Its own transaction: the refused request rolls back, the trace stays."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        journal.record(
            Ev.LOCKDOWN_REFUSED, actor=user, actor_role=None if user is not None else "",
            target=actor if isinstance(actor, User) else None, outcome=Outcome.DENIED, details={"what": what},
        )


# --- The register ---------------------------------------------------------------------------

# Fields a user edits on the incident page (the CNIL form's fields).
EDITABLE = (
    "title", "established", "discovered_at", "aware_at", "started_at", "ended_at", "origin", "confidentiality",
    "integrity", "availability", "cause", "media", "circumstances", "person_categories", "persons_count",
    "data_categories", "records_count", "consequences", "measures_taken", "measures_planned", "encrypted_only",
    "keys_exposed",
)


def _require(actor: Any) -> None:
    if actor is not None and not records.can(actor, Cap.INCIDENT_MANAGE):
        raise ActionError("Votre rôle ne permet pas de tenir le registre des incidents.")


def _entry(incident: Incident, actor: Any, text: str, step: str = "") -> Entry:
    now = timezone.now()
    seconds = None
    if incident.exercise:
        last = incident.entries.order_by("-at", "-id").first()
        seconds = int((now - last.at).total_seconds()) if last else 0
    return Entry.objects.create(incident=incident, at=now, author=actor, text=text, step=step, seconds=seconds)


@transaction.atomic
def open_incident(*, actor: Any, title: str, discovered_at: datetime, aware_at: datetime,
                  exercise: bool = False, **fields: Any) -> Incident:
    _require(actor)
    title = (title or "").strip()
    if not title:
        raise ActionError("Donnez un intitulé à l'incident (sans nom de patient).")
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ActionError("Champs inconnus : {}.".format(", ".join(sorted(unknown))))
    try:
        breach.check_times(discovered_at=discovered_at, aware_at=aware_at, now=timezone.now(),
                           started_at=fields.get("started_at"), ended_at=fields.get("ended_at"))
    except breach.TimesError as exc:
        raise ActionError(str(exc)) from None
    incident = Incident.objects.create(
        title=title[:200], discovered_at=discovered_at, aware_at=aware_at, exercise=exercise, created_by=actor, **fields
    )
    _entry(incident, actor, "Incident ouvert au registre." if not exercise else "Exercice : incident simulé ouvert.",
           step="open")
    journal.record(
        Ev.BREACH_OPENED, actor=actor, actor_role=_role(actor), target=incident,
        details={"incident": str(incident.public_id), "exercise": exercise,
                 "notify_by": breach.notify_by(aware_at).isoformat()},
    )
    return incident


@transaction.atomic
def update_incident(*, actor: Any, incident: Incident, **fields: Any) -> list[str]:
    _require(actor)
    if incident.closed_at is not None:
        raise ActionError("Cet incident est clos.")
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ActionError("Champs inconnus : {}.".format(", ".join(sorted(unknown))))
    new = {name: fields.get(name, getattr(incident, name)) for name in EDITABLE}
    if not str(new["title"]).strip():
        raise ActionError("Donnez un intitulé à l'incident (sans nom de patient).")
    try:
        breach.check_times(discovered_at=new["discovered_at"], aware_at=new["aware_at"], now=timezone.now(),
                           started_at=new["started_at"], ended_at=new["ended_at"])
    except breach.TimesError as exc:
        raise ActionError(str(exc)) from None
    changed = [name for name in EDITABLE if new[name] != getattr(incident, name)]
    if not changed:
        return []
    for name in changed:
        setattr(incident, name, new[name])
    incident.save(update_fields=changed)
    _entry(incident, actor, "Fiche complétée : {}.".format(", ".join(str(Incident._meta.get_field(n).verbose_name)
                                                               for n in changed)), step="update")
    journal.record(Ev.BREACH_UPDATED, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "fields": changed})
    return changed


@transaction.atomic
def add_entry(*, actor: Any, incident: Incident, text: str, step: str = "") -> Entry:
    _require(actor)
    text = (text or "").strip()
    if not text:
        raise ActionError("La ligne de chronologie est vide.")
    if incident.closed_at is not None:
        raise ActionError("Cet incident est clos.")
    entry = _entry(incident, actor, text[:4000], step=step[:40])
    journal.record(Ev.BREACH_ENTRY_ADDED, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "step": entry.step})
    return entry


# --- Pre-filling from the journal ----------------------------------------------------------

# Events that show a patient's data to the account: what « a-t-il ouvert » counts.
PATIENT_EVENTS_EXCLUDED = frozenset({Ev.OUT_OF_SCOPE, Ev.ACCESS_DENIED})


def journal_scope(account: User, start: datetime, end: datetime) -> dict[str, Any]:
    """What `account` did to patient records between `start` and `end`, from the journal:
    successful events naming a patient, their count by kind, the distinct patients (internal
    ids, never names), and the exports among them."""
    rows = list(
        Event.objects.filter(actor=account, at__gte=start, at__lte=end, patient_id__isnull=False,
                             outcome=Outcome.SUCCESS)
        .exclude(action__in=PATIENT_EVENTS_EXCLUDED)
        .values_list("action", "patient_id")
    )
    by_action = Counter(action for action, _ in rows)
    patients = sorted({pid for _, pid in rows})
    exports = sum(n for action, n in by_action.items() if action in alerts.EXPORTS)
    return {"events": len(rows), "patients": len(patients), "exports": exports,
            "by_action": dict(sorted(by_action.items())), "patient_ids": patients}


@transaction.atomic
def scope_from_journal(*, actor: Any, incident: Incident, account: User, start: datetime, end: datetime) -> dict:
    _require(actor)
    if end <= start:
        raise ActionError("La fin de la période doit suivre son début.")
    end = min(end, timezone.now())
    found = journal_scope(account, start, end)
    incident.scope_account = account
    incident.scope_from, incident.scope_to = start, end
    incident.affected_patients = found.pop("patient_ids")
    incident.scope_counts = found
    fields = ["scope_account", "scope_from", "scope_to", "affected_patients", "scope_counts"]
    # Pre-fill the approximate numbers when nobody typed them yet.
    if incident.persons_count is None:
        incident.persons_count = found["patients"]
        fields.append("persons_count")
    if incident.records_count is None:
        incident.records_count = found["events"]
        fields.append("records_count")
    incident.save(update_fields=fields)
    counts = f"{found['patients']} patients, {found['events']} accès, {found['exports']} exports"
    _entry(incident, actor, f"Recensement dans le journal : {counts}.", step="scope")
    journal.record(Ev.BREACH_SCOPED, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "account": account.pk,
                            "patients": found["patients"], "events": found["events"]})
    return found


# --- Notification and art. 34 ---------------------------------------------------------------


@transaction.atomic
def decide_notification(*, actor: Any, incident: Incident, notify: bool, reason: str = "") -> None:
    _require(actor)
    reason = (reason or "").strip()
    if not notify and len(reason) < MIN_REASON:
        raise ActionError("Sans notification, indiquez pourquoi la violation ne présente pas de risque "
                          "pour les personnes (RGPD art. 33(1)) : le registre doit le justifier.")
    incident.notification = Notification.NOTIFY if notify else Notification.NOT_REQUIRED
    incident.no_notification_reason = "" if notify else reason
    incident.save(update_fields=["notification", "no_notification_reason"])
    _entry(incident, actor, "Décision : notifier la CNIL." if notify else "Décision : pas de notification à la CNIL.",
           step="decide")
    journal.record(Ev.BREACH_NOTIFICATION_DECIDED, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "notification": incident.notification})


@transaction.atomic
def record_notification(*, actor: Any, incident: Incident, at: datetime, reference: str = "",
                        complement: bool = False, delay_reasons: str = "") -> None:
    """The practice filed the initial (or the complementary) notification on the CNIL's site."""
    _require(actor)
    if at > timezone.now():
        raise ActionError("La date d'envoi ne peut pas être dans le futur.")
    if at < incident.aware_at:
        raise ActionError("La notification ne peut pas précéder la prise de connaissance.")
    delay_reasons = (delay_reasons or incident.delay_reasons).strip()
    if not complement and breach.is_late(incident.aware_at, at) and len(delay_reasons) < MIN_REASON:
        raise ActionError("Notification après 72 heures : indiquez les motifs du retard (RGPD art. 33(1)).")
    if complement:
        if incident.notified_at is None:
            raise ActionError("Enregistrez d'abord la notification initiale.")
        incident.complement_at = at
    else:
        incident.notified_at = at
        incident.notification = Notification.NOTIFY
    if reference:
        incident.cnil_reference = reference.strip()[:80]
    incident.delay_reasons = delay_reasons
    incident.save()
    _entry(incident, actor, "Notification complémentaire envoyée à la CNIL." if complement
           else "Notification initiale envoyée à la CNIL.", step="notify")
    journal.record(Ev.BREACH_NOTIFIED, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "complement": complement,
                            "late": breach.is_late(incident.aware_at, at)})


def art34_proposal(incident: Incident) -> Art34:
    return breach.propose_art34(confidentiality=incident.confidentiality, encrypted_only=incident.encrypted_only,
                                keys_exposed=incident.keys_exposed)


@transaction.atomic
def decide_art34(*, actor: Any, incident: Incident, decision: str, reason: str = "") -> None:
    _require(actor)
    try:
        choice = Art34(decision)
    except ValueError:
        raise ActionError("Décision inconnue.") from None
    reason = (reason or "").strip()
    if choice == Art34.WAIVER_ENCRYPTED and (not incident.encrypted_only or incident.keys_exposed):
        raise ActionError("La dispense pour données chiffrées suppose que seules des données chiffrées ont "
                          "été exposées et que leurs clés ne l'ont pas été (RGPD art. 34(3)(a)).")
    if choice != art34_proposal(incident) and choice != Art34.NOTIFY and len(reason) < MIN_REASON:
        # Departing from Hygie's proposal towards not telling the patients needs a reason.
        raise ActionError("Cette décision diffère de la proposition de Hygie : indiquez pourquoi.")
    incident.art34, incident.art34_reason, incident.art34_decided_at = choice, reason, timezone.now()
    incident.save(update_fields=["art34", "art34_reason", "art34_decided_at"])
    _entry(incident, actor, f"Décision sur l'information des patients (art. 34) : {choice.value}.", step="art34")
    journal.record(Ev.BREACH_ART34_DECIDED, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "decision": choice.value})


@transaction.atomic
def record_notice(*, actor: Any, incident: Incident, patient: Any) -> PatientNotice:
    """One patient's letter was generated (by someone who reaches that patient: the view got
    the patient through hygie.access.records). Journaled on the patient's journal."""
    if incident.art34 != Art34.NOTIFY:
        raise ActionError("L'information individuelle des patients n'a pas été décidée pour cet incident.")
    if patient.pk not in incident.affected_patients:
        raise ActionError("Ce patient n'est pas parmi les personnes concernées.")
    notice = PatientNotice.objects.create(incident=incident, patient_id=patient.pk, made_at=timezone.now(),
                                          made_by=actor)
    journal.record(Ev.BREACH_PATIENT_NOTICE, actor=actor, target=patient,
                   details={"incident": str(incident.public_id), "notice": str(notice.public_id)})
    return notice


@transaction.atomic
def close_incident(*, actor: Any, incident: Incident) -> None:
    _require(actor)
    if incident.closed_at is not None:
        raise ActionError("Cet incident est déjà clos.")
    if incident.notification == Notification.PENDING:
        raise ActionError("Impossible de clore : aucune décision sur la notification à la CNIL "
                          "(notifier, ou justifier l'absence de risque).")
    if incident.notification == Notification.NOTIFY and incident.notified_at is None:
        raise ActionError("Impossible de clore : la notification à la CNIL décidée n'est pas enregistrée.")
    if incident.confidentiality and not incident.art34:
        raise ActionError("Impossible de clore : aucune décision sur l'information des patients (art. 34).")
    incident.closed_at = timezone.now()
    incident.save(update_fields=["closed_at"])
    _entry(incident, actor, "Incident clos.", step="close")
    journal.record(Ev.BREACH_CLOSED, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "exercise": incident.exercise})


# --- The 72-hour clock (worker) -------------------------------------------------------------

_ORDER = {"": 0, breach.Stage.WARN_24: 1, breach.Stage.WARN_48: 2, breach.Stage.OVERDUE: 3}


def check_deadlines(now: datetime | None = None) -> int:
    """Journal each incident's passage at 24 h, 48 h and past 72 h once; past 72 h, an alert.
    Returns how many stages were journaled."""
    now = now or timezone.now()
    done = 0
    for incident in Incident.objects.filter(closed_at__isnull=True, notified_at__isnull=True).exclude(
        notification=Notification.NOT_REQUIRED
    ):
        stage = breach.clock(incident.aware_at, now).stage
        if stage not in _ORDER or _ORDER[stage] <= _ORDER.get(incident.deadline_stage, 0):
            continue
        with transaction.atomic():
            incident.deadline_stage = stage
            incident.save(update_fields=["deadline_stage"])
            event = journal.record(Ev.BREACH_DEADLINE, actor_role="worker", target=incident, with_id=True,
                                   details={"incident": str(incident.public_id), "stage": stage.value,
                                            "exercise": incident.exercise})
            if stage == breach.Stage.OVERDUE and not incident.exercise:
                _alert(event, f"breach-overdue:{incident.public_id}", Severity.CRITICAL,
                       incident=str(incident.public_id))
        done += 1
    return done


# --- Contacts of the fiche réflexe ----------------------------------------------------------

CONTACT_FIELDS = ("region", "csirt_name", "csirt_phone", "provider_name", "provider_phone", "referent_name",
                  "referent_phone", "dpo_contact", "insurer")


@transaction.atomic
def save_contacts(*, actor: Any, **values: str) -> Contacts:
    _require(actor)
    contacts = Contacts.current()
    changed = []
    for name in CONTACT_FIELDS:
        value = (values.get(name) or "").strip()
        if value != getattr(contacts, name):
            setattr(contacts, name, value)
            changed.append(name)
    contacts.updated_at = timezone.now()
    contacts.save()
    journal.record(Ev.INCIDENT_CONTACTS_CHANGED, actor=actor, actor_role=_role(actor), details={"fields": changed})
    return contacts


# --- Exercises ------------------------------------------------------------------------------

@transaction.atomic
def exercise_step(*, actor: Any, incident: Incident, step: str, text: str) -> Entry:
    """One step of an exercise done: its time since the previous step is recorded."""
    _require(actor)
    if not incident.exercise:
        raise ActionError("Ce n'est pas un exercice.")
    if incident.closed_at is not None:
        raise ActionError("Cet exercice est terminé.")
    entry = _entry(incident, actor, text, step=step[:40])
    journal.record(Ev.EXERCISE_STEP, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "step": entry.step, "seconds": entry.seconds})
    return entry


@transaction.atomic
def start_exercise(*, actor: Any, scenario: str) -> Incident:
    from hygie.incidents import scenarios

    _require(actor)
    chosen = scenarios.get(scenario)
    if chosen is None:
        raise ActionError("Scénario d'exercice inconnu.")
    now = timezone.now()
    incident = open_incident(actor=actor, title="EXERCICE — " + chosen.title, discovered_at=now, aware_at=now,
                             exercise=True, origin=chosen.origin, confidentiality=chosen.confidentiality,
                             availability=chosen.availability, circumstances=chosen.story)
    journal.record(Ev.EXERCISE_STARTED, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "scenario": chosen.key})
    return incident


@transaction.atomic
def end_exercise(*, actor: Any, incident: Incident) -> dict[str, int]:
    _require(actor)
    if not incident.exercise or incident.closed_at is not None:
        raise ActionError("Aucun exercice en cours ici.")
    _entry(incident, actor, "Exercice terminé.", step="end")
    incident.closed_at = timezone.now()
    incident.save(update_fields=["closed_at"])
    durations = {e.step: e.seconds or 0 for e in incident.entries.exclude(step="")}
    total = int((incident.closed_at - incident.created_at).total_seconds())
    journal.record(Ev.EXERCISE_ENDED, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "seconds": total})
    return {"total": total, **durations}


def current_drill(incident: Incident) -> Lockdown | None:
    """The exercise's simulated switch, if it was pressed."""
    return incident.drills.order_by("-started_at", "-id").first()


@transaction.atomic
def simulate_lockdown(*, actor: Any, incident: Incident) -> Lockdown:
    """EXERCICE: « Isoler Hygie » in simulation. The switch's own steps run with dry_run
    (hygie.incidents.switch): what would be cut is counted, each step timed, nothing changes —
    no session ends, no login, download or backup is refused. Recorded as the exercise's
    « isolate » step (its time since the previous step) and journaled as an exercise step."""
    _require(actor)
    if not incident.exercise:
        raise ActionError("La simulation de l'isolement n'existe que dans un exercice.")
    if incident.closed_at is not None:
        raise ActionError("Cet exercice est terminé.")
    if incident.drills.exists():
        raise ActionError("L'isolement a déjà été simulé dans cet exercice.")
    row = _run_switch(actor=actor, reason="EXERCICE — " + incident.title, allow=None, incident=incident)
    counts = {s["key"]: s["count"] for s in row.steps}
    text = ("EXERCICE — isolement simulé, personne n'a été déconnecté. Auraient été fermées : "
            f"{counts['sessions']} sessions ; refusés : {counts['logins']} comptes ; arrêtées : "
            f"{counts['backups']} destinations de sauvegarde.")
    entry = _entry(incident, actor, text, step="isolate")
    journal.record(Ev.EXERCISE_STEP, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "step": "isolate", "simulated": True,
                            "seconds": entry.seconds, "sessions": counts["sessions"],
                            "accounts_refused": counts["logins"], "destinations_stopped": counts["backups"],
                            "ms": {s["key"]: s["ms"] for s in row.steps}})
    return row


@transaction.atomic
def simulate_lift(*, actor: Any, incident: Incident) -> Lockdown:
    """EXERCICE: the lift in simulation, after simulate_lockdown: same steps as lift_lockdown,
    counted and timed, nothing changed."""
    _require(actor)
    if not incident.exercise or incident.closed_at is not None:
        raise ActionError("Aucun exercice en cours ici.")
    row = current_drill(incident)
    if row is None:
        raise ActionError("Simulez d'abord l'isolement.")
    if row.lifted_at is not None:
        raise ActionError("La levée a déjà été simulée dans cet exercice.")
    steps = switch.lift_steps(dry_run=True, actor=actor, allowed_id=None)
    row.lifted_at, row.lifted_by = timezone.now(), actor
    row.steps = [*row.steps, *({"phase": "lift", **s.as_dict()} for s in steps)]
    row.save(update_fields=["lifted_at", "lifted_by", "steps"])
    entry = _entry(incident, actor, "EXERCICE — levée de l'isolement simulée : "
                   + " ; ".join(s.effect for s in steps) + ".", step="lift")
    journal.record(Ev.EXERCISE_STEP, actor=actor, actor_role=_role(actor), target=incident,
                   details={"incident": str(incident.public_id), "step": "lift", "simulated": True,
                            "seconds": entry.seconds, "ms": {s.key: s.ms for s in steps}})
    return row

"""Anomaly alerts over the journal (REQUIREMENTS LOG-4).

`scan()` reads the events sealed since its last run (it remembers the chain position it reached
in AlertCursor: positions are gapless and given in commit order, so no event is skipped even
when PostgreSQL commits writers out of id order) and runs each detector on them:

- accesses to patient records outside the practice's opening hours;
- a user opening more distinct records in an hour than max(threshold, factor x their usual
  hourly median over 30 days);
- every break-the-glass access (one alert each: acknowledging it marks the access reviewed);
- bursts of failed logins from one address or on one account;
- mass exports (document downloads, access-report exports) by one user;
- login attempts by a deactivated account or a remplaçant outside their replacement;
- every access to a titulaire's medical data approved by the referent in the titulaire's place
  (hygie.approvals), the titulaire being told by e-mail and on their dashboard as well.
- repeated requests by one user for existing patients outside their scope (probing).

Detectors that count over a window look back in the journal beyond the new events, so a burst
split across two runs is still seen. An alert names ids and counts only. Events of the same kind
and key close in time extend the open alert instead of raising another one.

The worker runs `scan` every minute; `hygie audit alerts` runs it on demand.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.audit import chain, journal
from hygie.audit.events import Ev
from hygie.audit.models import Alert, AlertCursor, AlertKind, Event, Severity
from hygie.lib import windows

logger = logging.getLogger(__name__)

# Opening a record: what the "many records" detector counts.
RECORD_READS = frozenset({
    Ev.PATIENT_VIEWED, Ev.HISTORY_VIEWED, Ev.CONSULTATION_VIEWED, Ev.DOCUMENT_DOWNLOADED,
    Ev.HISTORY_REVISIONS_VIEWED, Ev.CONSULTATION_REVISIONS_VIEWED,
})
# Data leaving Hygie: what the "mass export" detector counts.
EXPORTS = frozenset({Ev.DOCUMENT_DOWNLOADED, Ev.ACCESS_REPORT_EXPORTED})
LOGIN_ATTEMPTS = frozenset({Ev.LOGIN_FAILED, Ev.LOGIN_LOCKED})
# details["reason"] of a failed login by an account that may not sign in (hygie.accounts.signals).
INACTIVE_REASONS = frozenset({"inactive", "replacement"})

BATCH = 20_000
HOUR = timedelta(hours=1)
BASELINE = timedelta(days=30)
INACTIVE_WINDOW = timedelta(days=1)


@dataclass
class Found:
    """An anomaly, before it becomes a new alert or extends an open one."""

    kind: str
    key: str
    event_ids: list[int]
    severity: str = Severity.WARNING
    user_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # Extends an open alert of the same kind and key whose last event is this close (None: never).
    merge_within: timedelta | None = None


# --- Scanning ------------------------------------------------------------------------------


def scan(using: str = DEFAULT_DB_ALIAS, *, limit: int = 200_000) -> list[Alert]:
    """Run the detectors on the events sealed since the last scan. Returns the new alerts."""
    chain.seal(using)
    created: list[Alert] = []
    scanned = 0
    while scanned < limit:
        with transaction.atomic(using=using):
            cursor = _lock_cursor(using)
            rows = list(
                Event.objects.using(using)
                .filter(seq__gt=cursor.last_seq)
                .order_by("seq")
                .values("id", "seq", "at", "actor_id", "action", "patient_id", "ip", "target_type", "target_id",
                        "details")[:BATCH]
            )
            if not rows:
                cursor.scanned_at = timezone.now()
                cursor.save(using=using, update_fields=["scanned_at"])
                break
            for found in detect(rows, using):
                alert = raise_alert(found, using)
                if alert is not None:
                    created.append(alert)
            cursor.last_seq = rows[-1]["seq"]
            cursor.scanned_at = timezone.now()
            cursor.save(using=using, update_fields=["last_seq", "scanned_at"])
        scanned += len(rows)
    return created


def _lock_cursor(using: str) -> AlertCursor:
    AlertCursor.objects.using(using).bulk_create([AlertCursor(pk=1)], ignore_conflicts=True)
    return AlertCursor.objects.using(using).select_for_update().get(pk=1)


def detect(rows: list[dict], using: str = DEFAULT_DB_ALIAS) -> Iterable[Found]:
    yield from _off_hours(rows)
    yield from _many_records(rows, using)
    yield from _break_glass(rows)
    yield from _failed_logins(rows, using)
    yield from _mass_exports(rows, using)
    yield from _inactive_accounts(rows)
    yield from _backup_failures(rows)
    yield from _grant_fallbacks(rows)
    yield from _out_of_scope(rows, using)


# --- Detectors -----------------------------------------------------------------------------


def _is_patient_access(row: dict) -> bool:
    return row["actor_id"] is not None and row["patient_id"] is not None and row["action"].startswith("patient:")


def _off_hours(rows: list[dict]) -> Iterable[Found]:
    hours = settings.OPENING_HOURS
    groups: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for row in rows:
        if _is_patient_access(row):
            local = timezone.localtime(row["at"])
            if not hours.is_open(local):
                groups[(row["actor_id"], local.date().isoformat())].append(row)
    for (actor, day), group in groups.items():
        # One alert per user and day: a night of work is one thing to look at, not fifty.
        yield Found(
            AlertKind.OFF_HOURS, f"user:{actor}:{day}", [r["id"] for r in group], user_id=actor,
            details={"day": day}, merge_within=timedelta(days=1),
        )


def _many_records(rows: list[dict], using: str) -> Iterable[Found]:
    floor = settings.ALERT_RECORDS_PER_HOUR
    by_actor = _group(rows, lambda r: r["actor_id"] if r["action"] in RECORD_READS and _is_patient_access(r) else None)
    for actor, group in by_actor.items():
        new = {r["id"] for r in group}
        start, end = group[0]["at"] - HOUR, group[-1]["at"]
        reads = _reads_of(actor, using).filter(at__gt=start, at__lte=end).order_by("at", "id")
        events = list(reads.values_list("at", "id", "patient_id"))
        flagged, _peak = windows.distinct_bursts(events, HOUR, floor)
        if not new.intersection(flagged):
            continue
        # Above the floor: compare with what this user usually does (the median leaves out the
        # hours they did not work at all).
        history = _reads_of(actor, using).filter(at__gt=start - BASELINE, at__lte=start)
        median = windows.hourly_distinct_median(history.values_list("at", "patient_id").iterator())
        threshold = max(floor, int(settings.ALERT_RECORDS_FACTOR * median))
        flagged, peak = windows.distinct_bursts(events, HOUR, threshold)
        if new.intersection(flagged):
            yield Found(
                AlertKind.MANY_RECORDS, f"user:{actor}", flagged, user_id=actor,
                details={"peak_per_hour": peak, "threshold": threshold, "usual_per_hour": median},
                merge_within=HOUR,
            )


def _reads_of(actor: int, using: str) -> QuerySet[Event]:
    return Event.objects.using(using).filter(actor_id=actor, action__in=RECORD_READS, patient_id__isnull=False)


def _break_glass(rows: list[dict]) -> Iterable[Found]:
    # An archived record opened with a reason (docs/retention.md) is reviewed the same way.
    for row in rows:
        if row["action"] in (Ev.BREAK_GLASS, Ev.ARCHIVE_OPENED):
            access = (row["details"] or {}).get("access", "")
            details = {"access": access, "patient": row["patient_id"]}
            if row["action"] == Ev.ARCHIVE_OPENED:
                details["archive"] = True
            yield Found(
                AlertKind.BREAK_GLASS, f"access:{access or row['id']}", [row["id"]], user_id=row["actor_id"],
                details=details,
            )


def _failed_logins(rows: list[dict], using: str) -> Iterable[Found]:
    window = timedelta(minutes=settings.ALERT_FAILED_LOGINS_MINUTES)
    threshold = settings.ALERT_FAILED_LOGINS
    attempts = [r for r in rows if r["action"] in LOGIN_ATTEMPTS]
    by_ip = _group(attempts, lambda r: r["ip"])
    by_account = _group(attempts, _account_tried)
    for groups, name in ((by_ip, "ip"), (by_account, "account")):
        for value, group in groups.items():
            new = {r["id"] for r in group}
            start, end = group[0]["at"] - window, group[-1]["at"]
            scope = Q(ip=value) if name == "ip" else Q(target_type="accounts.user", target_id=str(value))
            context = (
                Event.objects.using(using)
                .filter(scope, action__in=LOGIN_ATTEMPTS, at__gt=start, at__lte=end)
                .order_by("at", "id")
                .values_list("at", "id")
            )
            flagged = windows.bursts(context, window, threshold)
            if new.intersection(flagged):
                yield Found(
                    AlertKind.FAILED_LOGINS, f"{name}:{value}", flagged,
                    user_id=int(value) if name == "account" else None,
                    details={"threshold": threshold, "minutes": settings.ALERT_FAILED_LOGINS_MINUTES,
                             **({"ip": value} if name == "ip" else {})},
                    merge_within=window,
                )


def _account_tried(row: dict) -> int | None:
    if row["target_type"] == "accounts.user" and row["target_id"]:
        return int(row["target_id"])
    return None


def _mass_exports(rows: list[dict], using: str) -> Iterable[Found]:
    threshold = settings.ALERT_EXPORTS_PER_HOUR
    by_actor = _group(rows, lambda r: r["actor_id"] if r["action"] in EXPORTS else None)
    for actor, group in by_actor.items():
        new = {r["id"] for r in group}
        start, end = group[0]["at"] - HOUR, group[-1]["at"]
        context = (
            Event.objects.using(using)
            .filter(actor_id=actor, action__in=EXPORTS, at__gt=start, at__lte=end)
            .order_by("at", "id")
            .values_list("at", "id")
        )
        flagged = windows.bursts(context, HOUR, threshold + 1)  # more than the threshold
        if new.intersection(flagged):
            yield Found(
                AlertKind.MASS_EXPORT, f"user:{actor}", flagged, user_id=actor,
                details={"threshold": threshold}, merge_within=HOUR,
            )


def _inactive_accounts(rows: list[dict]) -> Iterable[Found]:
    groups: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for row in rows:
        reason = (row["details"] or {}).get("reason")
        account = _account_tried(row)
        if row["action"] == Ev.LOGIN_FAILED and reason in INACTIVE_REASONS and account is not None:
            groups[(account, reason)].append(row)
    for (account, reason), group in groups.items():
        yield Found(
            AlertKind.INACTIVE_ACCOUNT, f"account:{account}:{reason}", [r["id"] for r in group], user_id=account,
            details={"reason": reason}, merge_within=INACTIVE_WINDOW,
        )


def _backup_failures(rows: list[dict]) -> Iterable[Found]:
    """A backup or a restore test that failed: nothing the practice can see otherwise until it
    needs the backup. Failures a day apart stay one alert until acknowledged."""
    for action in (Ev.BACKUP_FAILED, Ev.RESTORE_TEST_FAILED):
        failed = [r for r in rows if r["action"] == action]
        if failed:
            yield Found(
                AlertKind.BACKUP_FAILED, f"backup:{action}", [r["id"] for r in failed], severity=Severity.CRITICAL,
                details={"action": str(action)}, merge_within=INACTIVE_WINDOW,
            )


def _grant_fallbacks(rows: list[dict]) -> Iterable[Found]:
    """The referent approved, in a titulaire's place, something that opens their patients' records."""
    for row in rows:
        details = row["details"] or {}
        if row["action"] == Ev.GRANT_APPROVED and details.get("as") == "referent":
            yield Found(
                AlertKind.GRANT_FALLBACK, f"grant:{details.get('request') or row['id']}", [row["id"]],
                severity=Severity.CRITICAL, user_id=details.get("titulaire"),
                details={"request": details.get("request", ""), "kind": details.get("kind", "")},
            )


def _out_of_scope(rows: list[dict], using: str) -> Iterable[Found]:
    """A user asking again and again for patients outside their scope (each answered 404) is
    looking for records they should not see: a stale link is one request, probing is several."""
    threshold = settings.ALERT_OUT_OF_SCOPE_PER_HOUR
    by_actor = _group(rows, lambda r: r["actor_id"] if r["action"] == Ev.OUT_OF_SCOPE else None)
    for actor, group in by_actor.items():
        new = {r["id"] for r in group}
        start, end = group[0]["at"] - HOUR, group[-1]["at"]
        context = (
            Event.objects.using(using)
            .filter(actor_id=actor, action=Ev.OUT_OF_SCOPE, at__gt=start, at__lte=end)
            .order_by("at", "id")
            .values_list("at", "id")
        )
        flagged = windows.bursts(context, HOUR, threshold)
        if new.intersection(flagged):
            yield Found(
                AlertKind.OUT_OF_SCOPE, f"user:{actor}", flagged, user_id=actor,
                details={"threshold": threshold}, merge_within=HOUR,
            )


def _group(rows: list[dict], key: Any) -> dict[Any, list[dict]]:
    """Rows by key (rows whose key is None are left out), each group in time order."""
    out: dict[Any, list[dict]] = defaultdict(list)
    for row in rows:
        value = key(row)
        if value is not None:
            out[value].append(row)
    for group in out.values():
        group.sort(key=lambda r: (r["at"], r["id"]))
    return out


# --- Raising -------------------------------------------------------------------------------


def raise_alert(found: Found, using: str = DEFAULT_DB_ALIAS) -> Alert | None:
    """Create the alert, or extend the open one it continues. Returns the alert if new."""
    times = dict(Event.objects.using(using).filter(id__in=found.event_ids).values_list("id", "at"))
    first, last = min(times.values(), default=timezone.now()), max(times.values(), default=timezone.now())
    with transaction.atomic(using=using):
        if found.merge_within is not None:
            open_alert = (
                Alert.objects.using(using)
                .select_for_update()
                .filter(kind=found.kind, key=found.key, acknowledged_at__isnull=True,
                        last_event_at__gte=first - found.merge_within)
                .order_by("-id")
                .first()
            )
            if open_alert is not None:
                _extend(open_alert, found, first, last, using)
                return None
        elif Alert.objects.using(using).filter(kind=found.kind, key=found.key).exists():
            return None  # already raised (a scan re-run over the same events)
        alert = Alert.objects.using(using).create(
            kind=found.kind,
            severity=found.severity,
            key=found.key,
            created_at=timezone.now(),
            first_event_at=first,
            last_event_at=last,
            user_id=found.user_id,
            event_ids=sorted(found.event_ids)[: Alert.MAX_EVENT_IDS],
            details={**found.details, **_summary(found.event_ids, using)},
        )
        journal.record(Ev.ALERT_RAISED, target=alert, details={"kind": alert.kind, "alert": str(alert.public_id)})
        transaction.on_commit(lambda: notify(alert), using=using)
    return alert


def _extend(alert: Alert, found: Found, first: datetime, last: datetime, using: str) -> None:
    ids = sorted(set(alert.event_ids) | set(found.event_ids))
    alert.event_ids = ids[: Alert.MAX_EVENT_IDS]
    alert.first_event_at = min(alert.first_event_at, first)
    alert.last_event_at = max(alert.last_event_at, last)
    alert.details = {**alert.details, **found.details, **_summary(ids, using)}
    if len(ids) > Alert.MAX_EVENT_IDS:
        # Beyond the ids kept, count what arrived since.
        alert.details["events"] = max(alert.details.get("events", 0), len(ids))
    alert.save(using=using, update_fields=["event_ids", "first_event_at", "last_event_at", "details"])


def _summary(ids: list[int], using: str) -> dict[str, int]:
    rows = Event.objects.using(using).filter(id__in=ids).values_list("patient_id", "ip")
    patients = {p for p, _ in rows if p is not None}
    addresses = {ip for _, ip in rows if ip}
    out = {"events": len(ids)}
    if patients:
        out["patients"] = len(patients)
    if addresses:
        out["addresses"] = len(addresses)
    return out


def notify(alert: Alert) -> None:
    """Email the new alert to HYGIE_ALERT_EMAIL, if set. Kind, time and counts only."""
    if not settings.ALERT_EMAIL:
        return
    subject = _("[Hygie] Alerte : %(kind)s") % {"kind": alert.get_kind_display()}
    body = _(
        "Une alerte a été levée dans le journal des accès de Hygie.\n\n"
        "Type : %(kind)s\nDate : %(at)s\nÉvénements concernés : %(events)s\n\n"
        "Examinez-la et acquittez-la depuis le tableau de bord : %(url)s\n"
    ) % {
        "kind": alert.get_kind_display(),
        "at": timezone.localtime(alert.created_at).strftime("%d/%m/%Y %H:%M"),
        "events": alert.details.get("events", len(alert.event_ids)),
        "url": settings.BASE_URL + reverse("alert_list"),
    }
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, settings.ALERT_EMAIL)
    except Exception:  # the alert is on the dashboard anyway; a mail server down must not stop the scan
        logger.warning("alert email not sent (alert %s)", alert.public_id, exc_info=True)


# --- Reading -------------------------------------------------------------------------------


def open_alerts() -> QuerySet[Alert]:
    return Alert.objects.filter(acknowledged_at__isnull=True).select_related("user")

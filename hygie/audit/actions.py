"""State changes of the journal's own features. Each writes its journal event in its transaction."""

from __future__ import annotations

import threading
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from hygie.access.policy import Cap, role_can
from hygie.audit import alerts, journal
from hygie.audit.events import Ev
from hygie.audit.models import Alert, AlertKind, Severity
from hygie.audit.verify import Report, verify
from hygie.patients.models import BreakGlassAccess

COMMENT_MAX = 2000


class ActionError(Exception):
    """A refused action. The message is French and safe to show."""


@transaction.atomic
def acknowledge_alert(*, actor: Any, alert: Alert, comment: str) -> None:
    """The referent or the administrator looked at the alert. For a break-the-glass alert this
    is also the review of the access (BreakGlassAccess.reviewed_at/by)."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.kind == AlertKind.BREAK_GLASS and (actor is None or not role_can(actor.role, Cap.BREAK_GLASS_REVIEW)):
        # Reviewing an access means reading its reason, which may be clinical: the referent does.
        raise ActionError("Un accès exceptionnel est examiné par le référent, seul à lire son motif.")
    if alert.acknowledged_at is not None:
        raise ActionError("Cette alerte a déjà été acquittée.")
    comment = (comment or "").strip()
    if not comment:
        raise ActionError("Indiquez en commentaire ce qui a été vérifié.")
    now = timezone.now()
    alert.acknowledged_at = now
    alert.acknowledged_by = actor
    alert.comment = comment[:COMMENT_MAX]
    alert.save(update_fields=["acknowledged_at", "acknowledged_by", "comment"])
    if alert.kind == AlertKind.BREAK_GLASS and alert.details.get("access"):
        access = BreakGlassAccess.objects.filter(public_id=alert.details["access"], reviewed_at__isnull=True).first()
        if access is not None:
            access.reviewed_at = now
            access.reviewed_by = actor
            access.save(update_fields=["reviewed_at", "reviewed_by"])
            journal.record(Ev.BREAK_GLASS_REVIEWED, actor=actor, target=access, details={"alert": str(alert.public_id)})
    # The comment stays with the alert: typed text is not copied into the journal.
    journal.record(
        Ev.ALERT_ACKNOWLEDGED, actor=actor, target=alert, details={"kind": alert.kind, "alert": str(alert.public_id)}
    )


def verify_journal(*, actor: Any = None, using: str = DEFAULT_DB_ALIAS) -> Report:
    """Check the whole journal (hygie.audit.verify) and journal the result, which the viewer
    shows as "last verification". A broken journal also raises a critical alert.

    The verification reads its own snapshot outside any transaction (it may take seconds on a
    large journal and must not hold the write lock); the result is written afterwards.
    """
    # Forking from a multi-threaded process (the web server, the worker thread of `hygie
    # serve`) can copy a lock held by another thread: verify in this process only then.
    jobs = 1 if threading.active_count() > 1 else None
    report = verify(using=using, jobs=jobs)
    details: dict[str, Any] = {"ok": report.ok, "events": report.events, "checkpoints": report.checkpoints}
    if not report.ok:
        details.update(position=report.position, problem=report.problem)
    with transaction.atomic(using=using):
        journal.record(Ev.JOURNAL_VERIFIED, actor=actor, details=details)
        if not report.ok:
            alerts.raise_alert(
                alerts.Found(
                    AlertKind.JOURNAL_ALTERED, f"position:{report.position}", [], severity=Severity.CRITICAL,
                    details={"position": report.position},
                ),
                using,
            )
    return report

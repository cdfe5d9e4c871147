"""Write to the journal. Call `record` inside the transaction of the action it describes."""

from __future__ import annotations

from typing import Any

from django.db import models, router, transaction
from django.utils import timezone

from hygie.audit import chain, context
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event


def record(
    action: Ev,
    *,
    actor: Any = None,
    target: models.Model | None = None,
    patient_id: int | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    reason: str = "",
    details: dict[str, Any] | None = None,
    actor_role: str | None = None,
) -> Event:
    """Append one event. Targets are stored as internal ids; `details` must hold no patient data.

    The event joins the hash chain in the same transaction on SQLite and just after the commit
    on PostgreSQL (see hygie.audit.chain for why); `seq` and `chain_hash` of the returned object
    are not filled in.
    """
    ctx = context.current()
    target_type = target_id = ""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
        if patient_id is None:
            patient_id = _patient_of(target)
    user = actor if (actor is not None and getattr(actor, "is_authenticated", False)) else None
    using = router.db_for_write(Event)
    with transaction.atomic(using=using):
        event = Event.objects.using(using).create(
            at=timezone.now(),
            actor=user,
            actor_role=actor_role if actor_role is not None else (getattr(user, "role", "") or ""),
            action=str(action),
            outcome=str(outcome),
            target_type=target_type,
            target_id=target_id,
            patient_id=patient_id,
            ip=ctx.ip,
            request_id=ctx.request_id,
            channel=ctx.channel,
            reason=reason,
            details=details or {},
        )
        chain.after_append(using)
        return event


def _patient_of(target: models.Model) -> int | None:
    if target._meta.label == "patients.Patient":
        return int(target.pk)
    pid = getattr(target, "patient_id", None)
    return int(pid) if pid is not None else None

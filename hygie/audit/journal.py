"""Write to the journal. Call `record` inside the transaction of the action it describes."""

from __future__ import annotations

from typing import Any

from django.db import connections, models, router, transaction
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from hygie.audit import chain, context
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event

# The ORM's own normalisation of IP addresses (IPv6 compressed), applied before the insert.
_ip_prep = Event._meta.get_field("ip").get_prep_value
# Event's columns in the model's order, as `record` hands them to Model.from_db (a test checks).
EVENT_FIELDS = (
    "id", "at", "actor_id", "actor_role", "action", "outcome", "target_type", "target_id", "patient_id", "ip",
    "request_id", "channel", "reason", "details", "seq", "chain_hash",
)


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
    with_id: bool = False,
) -> Event:
    """Append one event. Targets are stored as internal ids; `details` must hold no patient data.

    The event joins the hash chain in the same transaction on SQLite and just after the commit
    on PostgreSQL (see hygie.audit.chain for why); `seq` and `chain_hash` of the returned object
    are filled in only when the event was sealed at once (SQLite). Its id: on SQLite always (the
    driver knows it at no cost), on PostgreSQL only when asked (`with_id`, for a caller that
    refers to the event, e.g. an alert: reading it back from the INSERT costs ~25 µs of the
    ~150 that separate a chained append from a bare INSERT, paid by every event otherwise). During
    a GET view on SQLite (a read transaction, hygie.core.sqlite.requests) the event is written
    once the view has returned, before its response leaves: the returned object then has no id.

    The row is written by one parameterised INSERT (hygie.audit.chain.append) rather than through
    the ORM, with the values the ORM would have stored: everything that can be prepared is
    prepared before the transaction, because on SQLite the transaction holds the database's
    only write lock.
    """
    ctx = context.current()
    target_type = target_id = ""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
        if patient_id is None:
            patient_id = _patient_of(target)
    user = actor if (actor is not None and getattr(actor, "is_authenticated", False)) else None
    role = str(actor_role if actor_role is not None else (getattr(user, "role", "") or ""))
    using = router.db_for_write(Event)
    fields = chain.EventFields(
        actor_id=None if user is None else user.pk,
        actor_role=role,
        action=str(action),
        outcome=str(outcome),
        target_type=target_type,
        target_id=target_id,
        patient_id=None if patient_id is None else int(patient_id),
        ip=_ip_prep(ctx.ip),
        request_id=str(ctx.request_id),
        channel=str(ctx.channel),
        reason=str(reason),
        details=details or {},
    )
    conn = connections[using]
    prepared = chain.prepare(conn, fields)
    defer = getattr(conn, "defer_event", None)
    if defer is not None and defer(at := timezone.now(), prepared):
        # A page view on SQLite: written after the view's read transaction, before the response
        # leaves (hygie.core.sqlite.requests); no id nor position yet.
        pk, seq, chain_hash = None, None, ""
    else:
        # No savepoint inside a request's transaction (two statements fewer): should the append
        # fail, the exception marks the enclosing transaction for rollback, action and event alike.
        with transaction.atomic(using=using, savepoint=False):
            at = timezone.now()
            pk, seq, chain_hash = chain.append(using, at, prepared, with_id=with_id)
    event = _built(using, (
        pk, at, fields.actor_id, role, fields.action, fields.outcome, target_type, target_id, fields.patient_id,
        fields.ip, fields.request_id, fields.channel, fields.reason, fields.details, seq, chain_hash,
    ))
    if user is not None:
        event.actor = user
    return event


def _built(using: str, values: tuple) -> Event:
    """The Event the ORM would build from this row as read from the database (Model.from_db:
    positional values, `_state` already "in the database"), paid by every write of the
    application. Without listeners of Event's pre_init/post_init signals (none in Hygie), the
    attributes are set directly: what Model.__init__ does for a fresh instance, whose attribute
    descriptors hold nothing yet (~1.8 µs instead of ~3.1)."""
    if pre_init.has_listeners(Event) or post_init.has_listeners(Event):
        return Event.from_db(using, EVENT_FIELDS, values)
    event = Event.__new__(Event)
    state = ModelState()
    state.adding = False
    state.db = using
    attrs = event.__dict__
    attrs["_state"] = state
    attrs.update(zip(EVENT_FIELDS, values, strict=True))
    return event


def _patient_of(target: models.Model) -> int | None:
    if target._meta.label == "patients.Patient":
        return int(target.pk)
    pid = getattr(target, "patient_id", None)
    return int(pid) if pid is not None else None

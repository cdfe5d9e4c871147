"""journal.record writes its row by raw SQL: the row must be what the ORM would have written,
and the chain value computed before the INSERT (SQLite) the one sealing would have given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hygie.audit import chain, context, journal
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import ChainHead, Event
from hygie.audit.verify import verify
from hygie.lib import hashchain
from tests.audit.helpers import record_at

pytestmark = pytest.mark.django_db


def _details_shapes():
    return [{}, {"fields": ["phone", "email"]}, {"b": 1, "a": [1.5, None, True]}, {"é": "ü\n\"x\""}]


def test_the_row_holds_what_the_orm_would_store():
    token = context.set_context(context.RequestContext("f" * 32, "2001:0db8:0000::0001", "web"))
    try:
        event = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id="7", outcome=Outcome.DENIED, reason="motif",
                               details={"z": 1, "a": [2]})
    finally:
        context.reset_context(token)
    chain.seal()
    stored = Event.objects.get(pk=event.pk)
    assert stored.ip == "2001:db8::1"  # the ORM's IPv6 normalisation
    assert stored.patient_id == 7
    assert stored.details == {"z": 1, "a": [2]}
    assert (stored.action, stored.outcome, stored.reason, stored.request_id, stored.channel) == (
        "patient:record:viewed", "denied", "motif", "f" * 32, "web")
    assert stored.at == event.at
    assert event.ip == stored.ip and event.patient_id == 7 and not event._state.adding
    assert verify().ok


@pytest.mark.parametrize("when", [
    datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC),  # no microseconds: SQLite stores no fraction
    datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
])
def test_the_chain_value_is_the_one_verify_recomputes(when):
    for details in _details_shapes():
        record_at(when, Ev.PATIENT_VIEWED, patient_id=1, details=details)
    chain.seal()
    report = verify()
    assert report.ok, report.summary()
    assert report.events == len(_details_shapes())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="sealed at insert on SQLite only")
def test_on_sqlite_the_event_is_sealed_by_its_insert():
    journal.record(Ev.PATIENT_VIEWED, patient_id=0)  # no head yet: created by the sealing path
    first = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1)
    second = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=2)
    assert (first.seq, second.seq) == (2, 3)
    head = ChainHead.objects.get()
    assert (head.seq, head.chain_hash) == (3, second.chain_hash)
    assert Event.objects.get(pk=second.pk).chain_hash == second.chain_hash


def test_pending_events_keep_their_place_before_new_ones():
    journal.record(Ev.PATIENT_VIEWED, patient_id=1)
    # An event written by other means, before the chain reaches it.
    Event.objects.create(at=timezone.now(), action=str(Ev.PATIENT_VIEWED), patient_id=2, details={"x": 1})
    last = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=3)
    chain.seal()
    order = list(Event.objects.order_by("seq").values_list("patient_id", flat=True))
    assert order == [1, 2, 3]
    assert Event.objects.get(pk=last.pk).seq == 3
    assert verify().ok


def test_a_fresh_database_starts_the_chain():
    ChainHead.objects.all().delete()
    journal.record(Ev.PATIENT_VIEWED, patient_id=1)
    chain.seal()
    head = ChainHead.objects.get()
    assert head.seq == 1 and head.chain_hash != hashchain.GENESIS.hex()
    assert verify().ok


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite append path")
def test_on_sqlite_observed_and_unobserved_appends_write_the_same_chain():
    """Unobserved (no query log, no wrapper), the append runs on the driver's own cursor; when
    something counts the statements it goes through Django's, and the three are seen."""
    journal.record(Ev.PATIENT_VIEWED, patient_id=0)  # starts the chain
    assert not connection.queries_logged and not connection.execute_wrappers
    plain = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1, details={"fields": ["phone"]})
    with CaptureQueriesContext(connection) as captured:
        observed = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=2, details={"fields": ["phone"]})
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) == 3 and statements[1].startswith("INSERT INTO audit_event ")
    assert (plain.seq, observed.seq) == (2, 3)
    for event in (plain, observed):
        assert Event.objects.get(pk=event.pk).chain_hash == event.chain_hash
    assert ChainHead.objects.get().chain_hash == observed.chain_hash
    report = verify()
    assert report.ok and report.events == 3, report.summary()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite append path")
def test_on_sqlite_a_failed_append_leaves_nothing(monkeypatch):
    journal.record(Ev.PATIENT_VIEWED, patient_id=0)
    head = ChainHead.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        # Sealing fails with the write lock held: the head does not move, no event is left.
        monkeypatch.setattr(chain.hashchain, "payload_of", _Broken())
        journal.record(Ev.PATIENT_VIEWED, patient_id=1)
    assert ChainHead.objects.get().seq == head.seq
    assert Event.objects.count() == 1 and verify().ok


class _Broken:
    def __call__(self, *args):
        raise IntegrityError("simulated")


def test_record_builds_the_event_with_the_models_columns_in_order():
    # Model.from_db takes the values by position: a column added to Event must be added there too.
    assert journal.EVENT_FIELDS == tuple(f.attname for f in Event._meta.concrete_fields)
    event = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=4, reason="motif", details={"a": 1})
    stored = Event.objects.get(pk=event.pk)
    for name in journal.EVENT_FIELDS:
        if name not in ("seq", "chain_hash"):  # filled in later on PostgreSQL
            assert getattr(event, name) == getattr(stored, name), name


def test_record_builds_the_same_event_as_the_orm_would():
    event = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=4, reason="motif", details={"a": 1})
    orm = Event.from_db(event._state.db, journal.EVENT_FIELDS,
                        tuple(getattr(event, name) for name in journal.EVENT_FIELDS))
    assert event.__dict__.keys() == orm.__dict__.keys()
    assert [getattr(event, n) for n in journal.EVENT_FIELDS] == [getattr(orm, n) for n in journal.EVENT_FIELDS]
    assert (event._state.adding, event._state.db) == (orm._state.adding, orm._state.db) == (False, "default")


def test_record_builds_through_the_orm_when_events_have_init_listeners():
    from django.db.models.signals import post_init

    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(listener, sender=Event)
    try:
        event = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=5)
    finally:
        post_init.disconnect(listener, sender=Event)
    assert seen == [event]


def test_the_id_is_read_back_only_when_asked_for():
    with CaptureQueriesContext(connection) as plain:
        anonymous = journal.record(Ev.PATIENT_VIEWED, patient_id=8)
    with CaptureQueriesContext(connection) as asked:
        named = journal.record(Ev.PATIENT_VIEWED, patient_id=9, with_id=True)
    assert named.pk is not None and Event.objects.get(pk=named.pk).patient_id == 9
    inserts = [q["sql"] for q in plain.captured_queries if q["sql"].startswith("INSERT INTO audit_event")]
    if connection.vendor == "postgresql":
        # No RETURNING nobody reads: the event is there all the same, without its id here.
        assert anonymous.pk is None and inserts and "RETURNING" not in inserts[0]
        assert any("RETURNING" in q["sql"] for q in asked.captured_queries)
        assert Event.objects.filter(patient_id=8).exists()
    else:
        assert anonymous.pk is not None  # SQLite: the driver gives it for nothing

"""hygie.core.onerow: several reads in one statement, and builds compiled once (frozen)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Exists, Subquery
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.core import onerow

pytestmark = pytest.mark.django_db


def _event(action, at, actor=None, **extra):
    return Event.objects.create(action=action, at=at, actor=actor, **extra)


def _reads(since, actor_id):
    mine = Event.objects.filter(actor_id=actor_id, at__gte=since)
    return {
        "count": onerow.CountOf(mine.values("id")),
        "last_at": Subquery(mine.order_by("-id").values("at")[:1]),
        "details": Subquery(mine.order_by("-id").values("details")[:1]),
        "failed": Exists(Event.objects.filter(action=Ev.LOGIN_FAILED, target_id=str(actor_id), at__gte=since)),
    }


def test_one_statement_for_all_values_converted_as_the_orm_would(personas, django_assert_num_queries):
    now = timezone.now()
    _event(Ev.PATIENT_VIEWED, now - timedelta(hours=2), personas.alice, details={"n": 1})
    _event(Ev.PATIENT_VIEWED, now - timedelta(hours=1), personas.alice, details={"n": 2})
    _event(Ev.LOGIN_FAILED, now - timedelta(minutes=5), target_id=str(personas.alice.pk))
    with django_assert_num_queries(1):
        read = onerow.read(_reads(now - timedelta(hours=3), personas.alice.pk))
    assert read == {"count": 2, "last_at": now - timedelta(hours=1), "details": {"n": 2}, "failed": True}
    assert onerow.read({}) == {}


def test_a_count_of_a_queryset_known_to_be_empty_is_zero_not_none(personas):
    _event(Ev.PATIENT_VIEWED, timezone.now(), personas.alice)
    read = onerow.read({"none": onerow.CountOf(Event.objects.none()), "all": onerow.CountOf(Event.objects.all())})
    assert read["none"] == 0 and read["all"] == Event.objects.count() > 0


def test_a_frozen_build_reads_each_call_s_own_values(personas):
    now = timezone.now()
    _event(Ev.PATIENT_VIEWED, now - timedelta(hours=2), personas.alice, details={"n": 1})
    _event(Ev.PATIENT_VIEWED, now - timedelta(hours=1), personas.bob, details={"n": 2})
    _event(Ev.LOGIN_FAILED, now - timedelta(minutes=5), target_id=str(personas.bob.pk))
    for since, who in [(now - timedelta(hours=3), personas.alice), (now - timedelta(hours=3), personas.bob),
                       (now - timedelta(minutes=90), personas.alice), (now, personas.bob)]:
        frozen = onerow.read(onerow.frozen(_reads, since, who.pk))
        assert frozen == onerow.read(_reads(since, who.pk))
    assert onerow.read(onerow.frozen(_reads, now - timedelta(hours=3), personas.bob.pk))["failed"] is True
    assert onerow.read(onerow.frozen(_reads, now - timedelta(hours=3), personas.alice.pk))["failed"] is False


def _computes_from_its_argument(since):
    return {"n": onerow.CountOf(Event.objects.filter(at__gte=since - timedelta(days=1)).values("id"))}


def test_a_build_that_does_not_pass_its_argument_through_is_refused():
    with pytest.raises(ValueError, match="does not pass every argument"):
        onerow.frozen(_computes_from_its_argument, timezone.now())


def test_a_statement_of_compiled_parts_is_compiled_once_and_reads_each_call_s_values(personas, monkeypatch):
    """Frozen parts and constants only: the ORM compiles the combined statement the first time
    its shape is met; later calls run it with their own parameters (and convert as the ORM)."""
    from django.db.models import Value
    from django.db.models.sql.compiler import SQLCompiler

    now = timezone.now()
    _event(Ev.PATIENT_VIEWED, now - timedelta(hours=2), personas.alice, details={"n": 1})
    _event(Ev.PATIENT_VIEWED, now - timedelta(hours=1), personas.bob, details={"n": 2})
    onerow._COMPILED.clear()
    compiled = []
    real = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or real(self, *a, **k))
    monkeypatch.setattr(onerow._frozen, "CHECK", False)  # the suite's check compiles afresh on purpose
    reads = []
    for since, who in [(now - timedelta(hours=3), personas.alice), (now - timedelta(hours=3), personas.bob),
                       (now - timedelta(minutes=90), personas.alice)]:
        values = {**onerow.frozen(_reads, since, who.pk), "constant": Value(7), "flag": Value(False)}
        reads.append(onerow.read(values))
    assert len(compiled) == 1
    monkeypatch.setattr(SQLCompiler, "as_sql", real)
    assert reads == [
        {"count": 1, "last_at": now - timedelta(hours=2), "details": {"n": 1}, "failed": False, "constant": 7,
         "flag": False},
        {"count": 1, "last_at": now - timedelta(hours=1), "details": {"n": 2}, "failed": False, "constant": 7,
         "flag": False},
        {"count": 0, "last_at": None, "details": None, "failed": False, "constant": 7, "flag": False},
    ]
    # A constant of another value is another statement.
    assert onerow.read({**onerow.frozen(_reads, now, personas.bob.pk), "constant": Value(8), "flag": Value(True)})[
        "constant"] == 8
    assert len(onerow._COMPILED) == 2

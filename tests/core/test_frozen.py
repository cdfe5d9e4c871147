from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hygie.core import frozen
from hygie.patients.models import CareTeamMember, Patient


def _team_patients(practitioners, wanted, now, *, with_key=False):
    """A shape like records.get_patient's: a list of ids, a UUID, a moment, an EXISTS."""
    team = CareTeamMember.objects.filter(practitioner_id__in=practitioners, patient_id=OuterRef("pk"))
    qs = Patient.objects.filter(created_at__lt=now).annotate(hygie_in_team=Exists(team))
    if with_key:
        qs = qs.with_keys()
    return qs.exclude(public_id=wanted).order_by("pk")


def _rows(qs):
    return [(p.pk, p.last_name, p.hygie_in_team) for p in qs]


@pytest.fixture(autouse=True)
def _fresh_shapes():
    frozen._SHAPES.clear()
    yield
    frozen._SHAPES.clear()


def test_same_rows_and_instances_as_the_orm_compiled_once_per_shape(personas, monkeypatch):
    now = timezone.now() + timedelta(seconds=1)
    nobody = uuid.uuid4()
    compiled = []
    real = frozen._compile
    monkeypatch.setattr(frozen, "_compile", lambda qs: compiled.append(1) or real(qs))
    monkeypatch.setattr(frozen, "CHECK", False)  # count the shape's own compilations only
    for practitioners in ([personas.alice.pk], [personas.bob.pk], [personas.alice.pk, personas.bob.pk]):
        for with_key in (False, True):
            expected = _rows(_team_patients(practitioners, nobody, now, with_key=with_key))
            got = _rows(frozen.queryset(_team_patients, practitioners, nobody, now, with_key=with_key))
            assert got == expected and any(in_team for *_, in_team in got)
    # Four shapes (lists of 1 and 2 ids, with and without the key), each compiled twice once.
    assert len(frozen._SHAPES) == 4 and len(compiled) == 8
    # The encrypted fields decrypt as from the ORM's own queryset (keys read with the rows).
    one = next(iter(frozen.queryset(_team_patients, [personas.alice.pk], nobody, now, with_key=True)))
    assert one.last_name == Patient.objects.get(pk=one.pk).last_name


def test_each_call_runs_with_its_own_values(personas):
    now = timezone.now() + timedelta(seconds=1)
    everyone = _rows(frozen.queryset(_team_patients, [personas.alice.pk], uuid.uuid4(), now))
    first = Patient.objects.order_by("pk").first()
    without_first = _rows(frozen.queryset(_team_patients, [personas.alice.pk], first.public_id, now))
    assert without_first == everyone[1:]
    assert _rows(frozen.queryset(_team_patients, [personas.alice.pk], uuid.uuid4(), first.created_at)) == []


def test_one_statement_per_run(personas):
    now = timezone.now()
    frozen.queryset(_team_patients, [personas.alice.pk], uuid.uuid4(), now)  # the shape, frozen
    with CaptureQueriesContext(connection) as captured:
        list(frozen.queryset(_team_patients, [personas.alice.pk], uuid.uuid4(), now))
    assert len(captured.captured_queries) == 1


def _yesterday(practitioners, wanted, now):
    return _team_patients(practitioners, wanted, now - timedelta(days=1))


def _by_value(practitioners, wanted, now):
    # SQL that depends on a value: the two stand-ins are alike (negative ids), real ids are not.
    qs = _team_patients(practitioners, wanted, now)
    return qs.filter(pk__gt=0) if practitioners[0] > 0 else qs


def test_a_parameter_computed_from_an_argument_is_refused(personas):
    with pytest.raises(ValueError, match="computes a parameter"):
        frozen.queryset(_yesterday, [personas.alice.pk], uuid.uuid4(), timezone.now())


def test_sql_that_branches_on_a_value_is_caught_by_the_check_of_the_test_suite(personas, monkeypatch):
    assert frozen.CHECK  # tests/_env.py
    with pytest.raises(AssertionError, match="other SQL"):
        frozen.queryset(_by_value, [personas.alice.pk], uuid.uuid4(), timezone.now())


def test_a_frozen_queryset_cannot_be_changed(personas):
    qs = frozen.queryset(_team_patients, [personas.alice.pk], uuid.uuid4(), timezone.now())
    for change in (lambda: qs.filter(pk=1), lambda: qs.first(), lambda: qs.exists(), lambda: qs[:1],
                   lambda: qs.order_by("-pk"), lambda: qs.count()):
        with pytest.raises(TypeError, match="frozen"):
            change()


def test_arguments_of_another_kind_are_refused(personas):
    with pytest.raises(TypeError, match="argument 1"):
        frozen.queryset(_team_patients, [personas.alice.pk], 3.5, timezone.now())


def _counts(practitioners, now):
    from hygie.core import onerow

    team = CareTeamMember.objects.filter(practitioner_id__in=practitioners)
    return {"members": onerow.CountOf(team.values("id")),
            "recent": Exists(Patient.objects.filter(created_at__lt=now))}


def _counts_a_day_before(practitioners, now):
    return _counts(practitioners, now - timedelta(days=1))


def test_expressions_read_in_one_statement_as_built_afresh(personas):
    from hygie.core import onerow

    frozen._EXPRESSIONS.clear()
    now = timezone.now() + timedelta(seconds=1)
    for practitioners in ([personas.alice.pk], [personas.alice.pk, personas.bob.pk], [-1]):
        expected = onerow.read(_counts(practitioners, now))
        with CaptureQueriesContext(connection) as captured:
            got = onerow.read(frozen.expressions(_counts, practitioners, now))
        assert got == expected and len(captured.captured_queries) == 1
    assert expected == {"members": 0, "recent": True}
    assert onerow.read(frozen.expressions(_counts, [personas.alice.pk], now - timedelta(days=3650))) == {
        "members": CareTeamMember.objects.filter(practitioner_id=personas.alice.pk).count(), "recent": False}
    assert len(frozen._EXPRESSIONS) == 2  # lists of one and two ids
    with pytest.raises(ValueError, match="computes a parameter"):
        frozen.expressions(_counts_a_day_before, [personas.alice.pk], now)


def test_the_columns_conversions_are_worked_out_once_per_shape_and_connection(personas, monkeypatch):
    """Converters (dates, UUIDs, booleans, encrypted fields) are the ORM's, asked once per shape
    and connection, then reused: the rows convert the same at every run."""
    from django.db.models.sql.compiler import SQLCompiler

    now = timezone.now() + timedelta(seconds=1)
    asked = []
    real = SQLCompiler.get_converters

    def counted(self, expressions):
        if isinstance(self.query, frozen._FrozenQuery):
            asked.append(1)
        return real(self, expressions)

    monkeypatch.setattr(SQLCompiler, "get_converters", counted)
    runs = [list(frozen.queryset(_team_patients, [personas.alice.pk], uuid.uuid4(), now, with_key=True))
            for _ in range(3)]
    assert len(asked) == 1
    expected = list(_team_patients([personas.alice.pk], uuid.uuid4(), now, with_key=True))
    for rows in runs:
        assert [(p.pk, p.public_id, p.created_at, p.last_name, p.hygie_in_team) for p in rows] == [
            (p.pk, p.public_id, p.created_at, p.last_name, p.hygie_in_team) for p in expected]
        assert all(isinstance(p.public_id, uuid.UUID) and p.created_at.tzinfo is not None for p in rows)
    # Another connection (another thread's) asks for its own.
    shape = next(iter(frozen._SHAPES.values()))
    shape.converters.clear()
    list(frozen.queryset(_team_patients, [personas.alice.pk], uuid.uuid4(), now, with_key=True))
    assert len(asked) == 2

"""Search through blind indexes: only candidates are decrypted, the scope still applies."""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.test.utils import CaptureQueriesContext

from hygie.access import records
from hygie.patients import indexes
from hygie.patients.models import BlindIndex, Patient
from hygie.patients.search import search
from tests.factories import make_patient


def test_it_narrows_in_sql_before_decrypting(personas):
    for i in range(40):
        make_patient(
            personas.alice, birth_name=f"Nom{i:02d}x", first_names="Paul", birth_date=date(1970, 1, 1 + i % 28)
        )
    target = make_patient(personas.alice, birth_name="Dupônt", first_names="Élise")
    scope = records.patient_scope(personas.alice)
    candidates = list(indexes.narrow(scope, names=["dupont"], dates=[], ins=""))
    assert target in candidates and len(candidates) <= 3  # 15-bit values: few false positives
    assert [p.pk for p in search(scope, "dupont")] == [target.pk]
    assert [p.pk for p in search(scope, "DUPO eli")] == [target.pk]
    assert [p.pk for p in search(scope, "dupontel")] == [target.pk]  # the full name, typed without space


def test_it_stays_within_the_scope(personas):
    make_patient(personas.bob, birth_name="Dupont", first_names="Bob")
    assert search(records.patient_scope(personas.alice), "dupont") == []
    assert len(search(records.patient_scope(personas.bob), "dupont")) == 1


def test_it_reindexes_when_the_identity_changes(personas):
    patient = personas.alice_patient
    before = set(BlindIndex.objects.filter(patient_id=patient.pk).values_list("kind", "value"))
    patient.usage_name = "Lagarde"
    patient.save()
    after = set(BlindIndex.objects.filter(patient_id=patient.pk).values_list("kind", "value"))
    assert before < after
    assert search(records.patient_scope(personas.alice), "lagar") == [patient]


def test_a_search_is_a_few_queries(personas):
    for i in range(20):
        make_patient(personas.alice, birth_name=f"Martin{i}", first_names="Luc")
    with CaptureQueriesContext(connection) as queries:
        found = search(records.patient_scope(personas.alice), "martin luc")
    assert len(found) == 20
    assert len(queries) <= 4  # candidates, then their data keys in one query
    assert Patient.objects.count() == 22

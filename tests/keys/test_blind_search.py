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


def test_a_one_word_search_reads_one_subselect_and_only_the_columns_it_needs(personas):
    target = make_patient(personas.alice, birth_name="Dupont", first_names="Élise", phone="06 11 22 33 44")
    scope = records.patient_scope(personas.alice)
    with CaptureQueriesContext(connection) as queries:
        found = search(scope, "dupo")
    assert [p.pk for p in found] == [target.pk]
    [sql] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "patients_patient"')]
    # "A name word starts with…" or "the full name starts with…": one set of index values.
    assert sql.count("patients_blindindex") == 1
    for column in ("history", "address", "phone", "email"):
        assert f'"patients_patient"."{column}"' not in sql
    # Same candidates as the union of the two lookups, written separately.
    key_terms = [("ln", "dupo"), ("fn", "dupo"), ("fp", "dupo")]
    from hygie.keys import service
    from hygie.lib import blindindex

    values = [(k, blindindex.value(service.blind_key(), k, t)) for k, t in key_terms]
    by_rows = {
        pk
        for kind, value in values
        for pk in BlindIndex.objects.filter(kind=kind, value=value).values_list("patient_id", flat=True)
    }
    narrowed = set(indexes.narrow(scope, names=["dupo"], dates=[], ins="").values_list("pk", flat=True))
    assert narrowed == by_rows & set(scope.values_list("pk", flat=True))
    # A field the search did not read is still there, read on access.
    assert found[0].phone == "06 11 22 33 44"

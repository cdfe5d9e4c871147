"""Sensitive fields are ciphertext in the database, bound to their row, field and patient."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from hygie.keys import service
from hygie.keys.fields import EncryptionRequired
from hygie.keys.models import PatientKey
from hygie.lib import crypto
from hygie.patients.models import Consultation, Patient
from hygie.patients.sensitive import SENSITIVE_FIELDS
from tests.factories import make_care_sheet, make_consultation, make_patient


def _raw(model, pk, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def _set_raw(model, pk, column, value):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {model._meta.db_table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def _fresh(model, pk):
    service.clear_cache()
    return model.objects.get(pk=pk)


def test_it_encrypts_every_declared_field(personas):
    from django.apps import apps

    from hygie.keys.fields import Encrypted

    for label, fields in SENSITIVE_FIELDS.items():
        model = apps.get_model(label)
        for name in fields:
            assert isinstance(model._meta.get_field(name), Encrypted), f"{label}.{name}"


def test_it_stores_ciphertext_and_reads_plaintext(personas):
    patient = make_patient(personas.alice, birth_name="Dupônt", history="Allergie", death_date=date(2020, 1, 2))
    raw = _raw(Patient, patient.pk, "birth_name")
    assert "Dup" not in raw
    assert base64.b64decode(raw)[0] == crypto.FORMAT_V1
    again = _fresh(Patient, patient.pk)
    assert (again.birth_name, again.history, again.death_date) == ("Dupônt", "Allergie", date(2020, 1, 2))
    sheet = make_care_sheet(patient, personas.alice, amount=Decimal("25.5"))
    assert "25" not in _raw(type(sheet), sheet.pk, "amount")
    assert _fresh(type(sheet), sheet.pk).amount == Decimal("25.50")


def test_empty_and_missing_values_are_encrypted_too(personas):
    patient = personas.alice_patient
    assert patient.usage_name == "" and patient.death_date is None
    assert _raw(Patient, patient.pk, "usage_name") != ""
    assert _raw(Patient, patient.pk, "death_date") is not None


def test_it_refuses_a_ciphertext_swapped_between_rows(personas):
    a = make_patient(personas.alice, birth_name="Alpha")
    b = make_patient(personas.alice, birth_name="Beta")
    _set_raw(Patient, b.pk, "birth_name", _raw(Patient, a.pk, "birth_name"))
    with pytest.raises(crypto.DecryptionError):
        _ = _fresh(Patient, b.pk).birth_name
    # Same patient, two consultations: swapping their observations fails too.
    c1 = make_consultation(a, personas.alice, observations="un")
    c2 = make_consultation(a, personas.alice, observations="deux")
    _set_raw(Consultation, c2.pk, "observations", _raw(Consultation, c1.pk, "observations"))
    with pytest.raises(crypto.DecryptionError):
        _ = _fresh(Consultation, c2.pk).observations


def test_it_refuses_a_ciphertext_swapped_between_fields(personas):
    patient = make_patient(personas.alice, birth_name="Alpha", first_names="Beta")
    _set_raw(Patient, patient.pk, "first_names", _raw(Patient, patient.pk, "birth_name"))
    fresh = _fresh(Patient, patient.pk)
    assert fresh.birth_name == "Alpha"
    with pytest.raises(crypto.DecryptionError):
        _ = fresh.first_names


def test_it_refuses_a_data_key_swapped_between_patients(personas):
    a = make_patient(personas.alice, birth_name="Alpha")
    b = make_patient(personas.alice, birth_name="Beta")
    wrapped_a = bytes(PatientKey.objects.get(patient=a).wrapped)
    PatientKey.objects.filter(patient=b).update(wrapped=wrapped_a)
    with pytest.raises(crypto.DecryptionError):
        _ = _fresh(Patient, b.pk).birth_name


def test_it_refuses_the_wrong_master_key(personas, own_key_file):
    from hygie.lib import keyfile

    patient = make_patient(personas.alice, birth_name="Alpha")
    material = keyfile.load(own_key_file)
    # Same id, other bytes cannot happen (ids are hashes); a file with another master key:
    other = keyfile.new_material()
    keyfile.write(own_key_file, other)
    service.reset()
    with pytest.raises(crypto.DecryptionError):
        _ = _fresh(Patient, patient.pk).birth_name
    keyfile.write(own_key_file, material)
    service.reset()
    assert _fresh(Patient, patient.pk).birth_name == "Alpha"


def test_sql_filters_and_updates_on_encrypted_fields_are_refused(personas):
    with pytest.raises(EncryptionRequired):
        list(Patient.objects.filter(birth_name="Moreau"))
    with pytest.raises(EncryptionRequired):
        Patient.objects.update(history="x")


def test_each_patient_has_its_own_data_key(personas):
    keys = list(PatientKey.objects.values_list("patient_id", "wrapped"))
    assert len(keys) == Patient.objects.count() == 2
    assert len({bytes(w) for _, w in keys}) == 2

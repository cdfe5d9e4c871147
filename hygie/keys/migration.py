"""Encrypt rows written before encryption at rest (and decrypt them back, to reverse).

Used by the data migrations of patients, agenda and billing. Works on raw SQL rows: the
columns hold plaintext before, ciphertext after. Every patient without a data key gets one.
"""

from __future__ import annotations

import base64
from typing import Any

from hygie.keys import service
from hygie.keys.fields import associated_data
from hygie.lib import blindindex


class _Row:
    """Enough of a model instance for associated_data()."""

    def __init__(self, label: str, public_id: Any) -> None:
        self.public_id = public_id
        self._meta = type("Meta", (), {"label": label})


def _text(field: Any, raw: Any) -> str:
    if raw is None:
        return ""
    return field.to_text(field.from_text(str(raw))) if raw != "" else ""


def create_missing_keys(apps: Any, schema_editor: Any) -> None:
    PatientKey = apps.get_model("keys", "PatientKey")
    patient_model = apps.get_model("patients", "Patient")
    with_key = set(PatientKey.objects.values_list("patient_id", flat=True))
    rows = []
    for pk, public_id in patient_model._default_manager.values_list("pk", "public_id"):
        if pk not in with_key:
            dek, kek_id, wrapped = service.new_data_key(str(public_id))
            rows.append(PatientKey(patient_id=pk, kek_id=kek_id, wrapped=wrapped))
            service.remember(pk, dek)
    PatientKey.objects.bulk_create(rows, batch_size=1000)


def _transform(
    apps: Any, schema_editor: Any, app_label: str, model_name: str, fields: list[str], forward: bool
) -> None:
    from hygie.keys.fields import Encrypted

    model = apps.get_model(app_label, model_name)
    label = f"{app_label}.{model._meta.object_name}"
    real_fields = {f.name: f for f in model._meta.concrete_fields}
    is_patient = label == "patients.Patient"
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    columns = [qn(real_fields[name].column) for name in fields]
    patient_col = "id" if is_patient else "patient_id"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, public_id, {qn(patient_col)}, {', '.join(columns)} FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
    service.prefetch({row[2] for row in rows})
    updates = []
    for row in rows:
        pk, public_id, patient_pk, values = row[0], row[1], row[2], row[3:]
        dek = service.data_key(patient_pk)
        instance = _Row(label, public_id if not isinstance(public_id, bytes) else public_id.decode())
        new_values = []
        for name, raw in zip(fields, values, strict=True):
            field = real_fields[name]
            assert isinstance(field, Encrypted)
            ad = associated_data(instance, name, dek.patient_uuid)
            if forward:
                text = _text(field, raw)
                ct = dek.key.encrypt(text.encode(), ad)
                new_values.append(base64.b64encode(ct).decode())
            else:
                text = dek.key.decrypt(base64.b64decode(raw), ad).decode() if raw else ""
                new_values.append(None if text == "" and field.null else text)
        updates.append((*new_values, pk))
    if updates:
        assignments = ", ".join(f"{c} = %s" for c in columns)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", updates)  # noqa: S608


def encrypt(app_label: str, model_name: str, fields: list[str]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        _transform(apps, schema_editor, app_label, model_name, fields, forward=True)

    return run


def decrypt(app_label: str, model_name: str, fields: list[str]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        _transform(apps, schema_editor, app_label, model_name, fields, forward=False)

    return run


def build_blind_indexes(apps: Any, schema_editor: Any) -> None:
    from hygie.patients.indexes import terms_of

    patient_model = apps.get_model("patients", "Patient")
    BlindIndex = apps.get_model("patients", "BlindIndex")
    BlindIndex.objects.all().delete()
    # The key is only needed (and the key file only read) when there are patients.
    for patient in patient_model._default_manager.all().iterator(chunk_size=500):
        BlindIndex.objects.bulk_create(
            BlindIndex(patient_id=patient.pk, kind=kind, value=value)
            for kind, value in blindindex.values(service.blind_key(), terms_of(patient))
        )


def noop(apps: Any, schema_editor: Any) -> None:
    pass


__all__ = ["create_missing_keys", "encrypt", "decrypt", "build_blind_indexes", "noop"]

PATIENT_FIELDS = [
    "birth_name", "usage_name", "first_names", "birth_date", "sex", "ins",
    "phone", "email", "address", "death_date", "history",
]  # fmt: skip

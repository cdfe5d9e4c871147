"""Encrypted model fields: plaintext on the instance, AES-256-GCM ciphertext in the column.

    class Patient(EncryptedModel):
        birth_name = EncryptedCharField(_("nom de naissance"), max_length=100)

- Reading `patient.birth_name` decrypts on first access (lazily: a list shows what it needs)
  with the patient's data key, unwrapped once per request for a whole page of rows.
- Saving encrypts in `pre_save`, where the row is known: the associated data binds each
  ciphertext to its table, field, row (public_id) and patient (public_id), so a ciphertext
  copied into another row, field or patient fails to decrypt.
- Filtering, ordering or `update()` on an encrypted field raises EncryptionRequired: search
  goes through blind indexes (hygie.patients.search), sorting happens in Python.

Empty values and None are encrypted too: the column never tells whether a field is filled.
"""

from __future__ import annotations

import base64
import binascii
import functools
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar, cast

from django.db import models

from hygie.keys import service


class EncryptionRequired(TypeError):
    """A plaintext value reached the database: only `save()` may write an encrypted field."""


class Sealed:
    """A ciphertext read from the database, not yet decrypted."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: str) -> None:
        self.ciphertext = ciphertext

    def __repr__(self) -> str:
        return "<chiffré>"


class _Ciphertext(str):
    """What pre_save hands to the database: the only str an encrypted column accepts."""


class EncryptedAttribute:
    """Data descriptor: decrypts the sealed value of a field on first access."""

    def __init__(self, field: Encrypted) -> None:
        self.field = field

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        data = instance.__dict__
        name = self.field.attname
        if name not in data:  # a deferred field: Django fetches it
            instance.refresh_from_db(fields=[name])
        value = data[name]
        if isinstance(value, Sealed):
            value = self.field.unseal(instance, value)
            data[name] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


@functools.cache
def _label(opts: Any) -> str:
    """A model's label ("patients.Patient"): Options.label formats it anew on every call, and
    decrypting a field asked for it three times."""
    return str(opts.label)


@functools.lru_cache(maxsize=4096)
def _text(public_id: Any) -> str:
    """str() of a public id (a random UUID, no secret), remembered: every decryption of a row
    names it twice in its associated data, and str(UUID) cost a third of a field's decryption
    in a search (hygie.patients.search, docs/performance.md)."""
    return str(public_id)


def _associated_data(label: str, field_name: str, public_id: str, patient_uuid: str) -> bytes:
    return "\x1f".join(("hygie/v1", label, field_name, public_id, patient_uuid)).encode()


def associated_data(instance: Any, field_name: str, patient_uuid: str) -> bytes:
    return _associated_data(_label(instance._meta), field_name, _text(instance.public_id), str(patient_uuid))


def _patient_of(instance: Any) -> tuple[int | None, str | None]:
    """(internal id, public id or None if not at hand) of the patient who owns this row."""
    if _label(instance._meta) == "patients.Patient":
        return instance.pk, _text(instance.public_id)
    cached = instance._state.fields_cache.get("patient")
    return instance.patient_id, (_text(cached.public_id) if cached is not None else None)


def _key_for_write(instance: Any) -> service.DataKey:
    if instance._meta.label == "patients.Patient":
        pending = instance.__dict__.get("_hygie_new_key")
        if pending is not None:
            return pending[0]
        if instance.pk is None or instance._state.adding:
            pending = service.new_data_key(str(instance.public_id))
            instance.__dict__["_hygie_new_key"] = pending
            return pending[0]
    patient_pk, _ = _patient_of(instance)
    if patient_pk is None:
        raise service.MissingDataKey("a row must belong to a saved patient before it is encrypted")
    return service.data_key(patient_pk)


class Encrypted(models.Field):
    """Mixin for a concrete field class: stores its value encrypted, as base64 text."""

    descriptor_class = EncryptedAttribute

    def get_internal_type(self) -> str:
        return "TextField"

    def db_type(self, connection: Any) -> str | None:
        return connection.data_types["TextField"]

    def rel_db_type(self, connection: Any) -> str | None:
        return self.db_type(connection)

    def cast_db_type(self, connection: Any) -> str | None:
        return self.db_type(connection)

    # Text form of a value, encrypted: "" stands for None.
    def to_text(self, value: Any) -> str:
        return "" if value is None else str(value)

    def from_text(self, text: str) -> Any:
        return text

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else Sealed(value)

    def unseal(self, instance: Any, sealed: Sealed) -> Any:
        # `associated_data` and `_patient_of`, inlined: the model's label and the row's public id
        # are looked up once (a search decrypts ~150 fields: docs/performance.md).
        label = _label(instance._meta)
        own = _text(instance.public_id)
        pending = None
        if label == "patients.Patient":
            patient_pk, patient_uuid = instance.pk, own
            pending = instance.__dict__.get("_hygie_new_key")
        else:
            patient_pk, patient_uuid = _patient_of(instance)
        if pending:
            dek = pending[0]
        else:
            dek = service.data_key(patient_pk) if patient_pk is not None else None
        if dek is None:
            raise service.MissingDataKey("row without patient")
        return self.open(dek, label, own, patient_uuid or dek.patient_uuid, sealed.ciphertext)

    def open(self, dek: service.DataKey, label: str, own: str, patient_uuid: str, ciphertext: str) -> Any:
        """Decrypt one column's value: every ciphertext of a model field is opened here, whether
        through an instance (`unseal`) or a row read as a tuple (hygie.patients.search). `own`
        is the row's public id, `patient_uuid` its patient's (the same for a patient row)."""
        ad = _associated_data(label, self.name, own, patient_uuid)
        plaintext = dek.key.decrypt(binascii.a2b_base64(ciphertext), ad)
        return self.from_text(plaintext.decode("utf-8"))

    def seal(self, instance: Any, value: Any) -> _Ciphertext:
        dek = _key_for_write(instance)
        _, patient_uuid = _patient_of(instance)
        ad = associated_data(instance, self.name, patient_uuid or dek.patient_uuid)
        ciphertext = dek.key.encrypt(self.to_text(value).encode("utf-8"), ad)
        return _Ciphertext(base64.b64encode(ciphertext).decode("ascii"))

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        return self.seal(model_instance, getattr(model_instance, self.attname))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.ciphertext
        if isinstance(value, _Ciphertext):
            return str(value)
        raise EncryptionRequired(
            f"{self.model._meta.label}.{self.name} is encrypted: save the instance, never filter or update it in SQL"
        )

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        return self.get_db_prep_value(value, connection)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Sealed | _Ciphertext) or value is None:
            return value
        raise EncryptionRequired(f"{self.model._meta.label}.{self.name} is encrypted: no SQL lookup on it")


class EncryptedCharField(Encrypted, models.CharField):
    pass


class EncryptedEmailField(Encrypted, models.EmailField):
    pass


class EncryptedTextField(Encrypted, models.TextField):
    pass


class EncryptedDateField(Encrypted, models.DateField):
    def to_text(self, value: Any) -> str:
        if value is None or value == "":
            return ""
        return self.to_python(value).isoformat()

    def from_text(self, text: str) -> date | None:
        return date.fromisoformat(text) if text else None


class EncryptedDecimalField(Encrypted, models.DecimalField):
    def to_text(self, value: Any) -> str:
        if value is None or value == "":
            return ""
        return str(self.to_python(value).quantize(Decimal(1).scaleb(-self.decimal_places)))

    def from_text(self, text: str) -> Decimal | None:
        return Decimal(text) if text else None


# --- Models and querysets ----------------------------------------------------------------

_M = TypeVar("_M", bound=models.Model)


WRAPPED_KEY = "hygie_wrapped_key"


@functools.cache
def _wrapped_key() -> Any:
    """The sub-select of `with_keys`, built once (annotate resolves a copy of it for each query):
    building it anew cost as much as running a search's whole query (hygie.patients.search)."""
    from django.db.models import OuterRef, Subquery

    from hygie.keys.models import PatientKey

    return Subquery(PatientKey.objects.filter(patient_id=OuterRef("pk")).values("wrapped")[:1])


class EncryptedQuerySet(models.QuerySet[_M]):
    """Unwraps the data keys of a page of rows in one query when the rows are fetched."""

    def with_keys(self) -> EncryptedQuerySet[_M]:
        """Patients only: fetch each row's wrapped data key in the same query (a subquery),
        which saves the separate key query of a page (one round trip fewer)."""
        assert self.model._meta.label == "patients.Patient", "with_keys() is for patient rows"
        return cast(EncryptedQuerySet[_M], self.annotate(**{WRAPPED_KEY: _wrapped_key()}))

    def _fetch_all(self) -> None:
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._result_cache and self._iterable_class is models.query.ModelIterable:
            if self.model._meta.label == "patients.Patient":
                if WRAPPED_KEY in self.query.annotations:
                    for obj in self._result_cache:
                        wrapped = obj.__dict__.pop(WRAPPED_KEY, None)
                        if wrapped is not None:
                            service.remember_wrapped(obj.pk, str(obj.public_id), bytes(wrapped))
                service.prefetch(obj.pk for obj in self._result_cache)
            else:
                service.prefetch(obj.patient_id for obj in self._result_cache)


EncryptedManager = models.Manager.from_queryset(EncryptedQuerySet)


class EncryptedPatientModel(models.Model):
    """For the Patient model: stores the data key created for a new patient with the row."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        pending = self.__dict__.get("_hygie_new_key")
        if pending is not None:
            service.save_new_keys([self])

"""Find patients by name, birth date or INS.

Identity fields are encrypted at rest: the database first narrows the caller's queryset (already
limited to what the user may reach, hygie.access.records) with blind indexes
(hygie.patients.indexes), then the candidates are decrypted and matched here, in Python, which
drops the false positives of the truncated indexes.

A query mixes words freely: « dupont », « dup jea », « Dupont 17/05/1980 », « dupont 1950 » (a
birth year, with a name: a year alone would match a whole generation), « 2 80 05 75 … ».
Names are compared folded (no case, no accents, hyphens as spaces); every word of the query
must start a word of the patient's names, or the whole query must start the full name.

Bounded: a search decrypts at most what it can show plus a small margin, whatever the query. The
candidates are read in a stable order (the database's row id, which follows creation, not names),
in chunks; reading stops as soon as LIMIT + 1 patients are confirmed. The caller shows LIMIT of
them sorted by name and, when there were more, says « plus de 50 résultats, précisez ». A
two-letter query among 100,000 patients thus decrypts about a hundred rows, not twelve thousand.

Cheap per candidate: only the columns of `FIELDS` are read, as tuples; a candidate's data key
is unwrapped and its fields decrypted one at a time, only when matching reaches it (the names;
the birth date for a query with a date or a year, the INS for an INS), and a model instance is
built only for the patients shown (whose birth date is then decrypted, to sort them). Rows of
a chunk after the last one needed are read but never decrypted. The SQL is built with few
expressions (hygie.patients.indexes.narrow): for a four-letter query, building and compiling
the query with the ORM cost more than running it (docs/performance.md). The scope is the
caller's queryset, compiled as is: only the ids it selects are read.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet

from hygie.keys import service
from hygie.keys.fields import Encrypted, Sealed
from hygie.keys.models import PatientKey
from hygie.lib.text import compact, fold
from hygie.patients.models import Patient

MIN_NAME_LENGTH = 2
# At most this many results are shown; one more is confirmed to know that there are more.
LIMIT = 50
# Candidates read per round trip (decrypted only as far as needed): the first chunk covers
# LIMIT + 1 confirmed matches plus the false positives of the truncated indexes in the common
# case (at 100,000 patients, ~3 four-letter searches in 4; 120 or 150 measured no better:
# docs/performance.md).
FIRST_CHUNK = 80
NEXT_CHUNK = 200
# The columns a search reads: what matching needs and what the result lists show (name, birth
# date, code, link). The others (address, phone, history…) are neither read nor decrypted: a
# caller that wants them reads them on access, one query per patient, or reads the patients again.
FIELDS = ("public_id", "code", "birth_name", "usage_name", "first_names", "birth_date", "ins")
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")
_INS = re.compile(r"^\d{5}(?:\d{2}|2[AB])\d{6}(?:\d{2})?$")
_YEAR = re.compile(r"^(?:18|19|20)\d{2}$")


@dataclass
class ParsedQuery:
    names: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    ins: str = ""

    @property
    def usable(self) -> bool:
        # A birth year only narrows a name: on its own it is not a search.
        return bool(self.ins or self.dates or len("".join(self.names)) >= MIN_NAME_LENGTH)


def _as_date(token: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(token, fmt).date()
        except ValueError:
            continue
    return None


def normalise_ins(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def parse(query: str) -> ParsedQuery:
    parsed = ParsedQuery()
    query = (query or "").strip()
    if not query:
        return parsed
    # An INS is often typed in groups: « 2 80 05 2A 123 456 78 ».
    whole = normalise_ins(query)
    if _INS.match(whole):
        parsed.ins = whole
        return parsed
    for token in query.split():
        as_date = _as_date(token)
        if as_date is not None:
            parsed.dates.append(as_date)
            continue
        if _YEAR.match(token):
            parsed.years.append(int(token))
            continue
        parsed.names.extend(fold(token).split())
    return parsed


def _name_words(patient: Patient | _Row) -> list[str]:
    return fold(f"{patient.birth_name} {patient.usage_name} {patient.first_names}").split()


def _full_names(patient: Patient | _Row) -> Iterable[str]:
    first = compact(patient.first_names)
    for last in {compact(patient.birth_name), compact(patient.usage_name)} - {""}:
        yield last + first
        yield first + last


def _matches_names(patient: Patient | _Row, words: list[str]) -> bool:
    available = _name_words(patient)
    if all(any(w.startswith(q) for w in available) for q in words):
        return True
    typed = "".join(words)
    return any(full.startswith(typed) for full in _full_names(patient))


def _matches(patient: Patient | _Row, q: ParsedQuery) -> bool:
    if q.ins:
        stored = normalise_ins(patient.ins)
        return bool(stored) and (stored == q.ins or stored[:13] == q.ins)
    if any(patient.birth_date != d for d in q.dates):
        return False
    if any(patient.birth_date is None or patient.birth_date.year != y for y in q.years):
        return False
    return not q.names or _matches_names(patient, q.names)


class Found(list[Patient]):
    """At most `limit` patients, sorted by name; `more` says that others match too (the caller
    asks to narrow the search: « plus de 50 résultats, précisez »)."""

    more: bool = False


_UNREAD = object()


class _Row:
    """A candidate read as a tuple, decrypted one field at a time, only as far as matching
    asks: a false positive costs its key and the fields compared, never a model instance; a
    row read but not reached (the search stopped before it) costs nothing. Same attributes as
    a Patient for `_matches`."""

    __slots__ = ("pk", "public_id", "own", "code", "_sealed", "_open", "_wrapped", "_dek")

    def __init__(self, values: tuple[Any, ...]) -> None:
        pk, public_id, code, *sealed, wrapped = values
        self.pk = pk
        self.public_id = public_id  # a UUID (PostgreSQL) or its 32 hex digits (SQLite)
        self.own = _uuid_text(public_id)
        self.code = code
        self._sealed = sealed
        self._open: list[Any] = [_UNREAD] * len(sealed)
        self._wrapped = wrapped
        self._dek: service.DataKey | None = None

    def _value(self, i: int) -> Any:
        value = self._open[i]
        if value is _UNREAD:
            ciphertext = self._sealed[i]
            if ciphertext is None:
                value = None
            else:
                if self._dek is None:
                    self._dek = (
                        service.remember_wrapped(self.pk, self.own, bytes(self._wrapped))
                        if self._wrapped is not None
                        else service.data_key(self.pk)
                    )
                value = _SEALED_FIELDS[i].open(self._dek, _LABEL, self.own, self.own, ciphertext)
            self._open[i] = value
        return value

    birth_name = property(lambda self: self._value(0))
    usage_name = property(lambda self: self._value(1))
    first_names = property(lambda self: self._value(2))
    birth_date = property(lambda self: self._value(3))
    ins = property(lambda self: self._value(4))
    # As Patient.last_name, for `by_name`.
    last_name = property(lambda self: self.usage_name or self.birth_name)

    def patient(self, db: str) -> Patient:
        """The model instance shown: what was decrypted stays decrypted, the rest is decrypted
        on access (its data key is in the request's cache), unread columns are deferred."""
        opened = [Sealed(c) if v is _UNREAD and c is not None else (None if v is _UNREAD else v)
                  for c, v in zip(self._sealed, self._open, strict=True)]  # fmt: skip
        public_id = self.public_id if isinstance(self.public_id, uuid.UUID) else uuid.UUID(self.public_id)
        return Patient.from_db(db, _ATTNAMES, (self.pk, public_id, self.code, *opened))


def _uuid_text(value: Any) -> str:
    """str(UUID(value)) without building the UUID: the public id names the row in each field's
    associated data, and most candidates are never shown."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}".lower()
    return str(uuid.UUID(value))


# The columns of a search, in the model's order (Model.from_db wants it): id, public id, code,
# then the encrypted ones, in `_Row`'s order.
_ATTNAMES = ["id", *FIELDS]
_SEALED_FIELDS = [Patient._meta.get_field(name) for name in FIELDS[2:]]
_LABEL = Patient._meta.label
assert [f.attname for f in Patient._meta.concrete_fields if f.attname in _ATTNAMES] == _ATTNAMES
assert [f.name for f in _SEALED_FIELDS] == ["birth_name", "usage_name", "first_names", "birth_date", "ins"]
assert all(isinstance(f, Encrypted) for f in _SEALED_FIELDS)


@functools.cache
def _outer_sql(alias: str) -> str:
    """The rows of the ids the (scoped, narrowed) inner query selects, with their wrapped data
    keys. Written once per process and database: table and column names are constants."""
    from django.db import connections

    quote = connections[alias].ops.quote_name
    table = quote(Patient._meta.db_table)
    columns = ", ".join(f"{table}.{quote(Patient._meta.get_field(name).column)}" for name in _ATTNAMES)
    pk = f"{table}.{quote(Patient._meta.pk.column)}"
    key = PatientKey._meta
    wrapped_column, patient_column = quote(key.get_field("wrapped").column), quote(key.get_field("patient").column)
    # Names from the models' metadata, quoted; the values are the inner query's bound parameters.
    wrapped = f"(SELECT {wrapped_column} FROM {quote(key.db_table)} WHERE {patient_column} = {pk})"  # noqa: S608
    return f"SELECT {columns}, {wrapped} FROM {table} WHERE {pk} IN (%s) ORDER BY {pk}"  # noqa: S608


def _candidates(queryset: QuerySet[Patient]) -> Iterator[_Row]:
    """The rows of `queryset` in id order, read a chunk at a time (keyset, no OFFSET): the
    consumer stops reading, and decrypting, as soon as it has enough.

    The caller's queryset (its scope, the blind-index filter) selects the ids of a chunk; one
    statement around it reads their columns and data keys, so that the keys' sub-select runs
    for the rows of the chunk only, not for every candidate sorted before the LIMIT."""
    from django.db import connections

    ids = queryset.order_by("pk").values_list("pk")
    last = 0
    size = FIRST_CHUNK
    while True:
        chunk_ids = (ids.filter(pk__gt=last) if last else ids)[:size]
        try:
            inner, params = chunk_ids.query.get_compiler(using=chunk_ids.db).as_sql()
        except EmptyResultSet:
            return
        connection = connections[chunk_ids.db]
        with connection.cursor() as cursor:
            cursor.execute(_outer_sql(chunk_ids.db) % inner, params)
            rows = cursor.fetchall()
        for values in rows:
            yield _Row(values)
        if len(rows) < size:
            return
        last = rows[-1][0]
        size = NEXT_CHUNK


def search(queryset: QuerySet[Patient] | Iterable[Patient], query: str, *, limit: int = LIMIT) -> Found:
    """Patients of `queryset` matching `query`: the first `limit` confirmed in id order, sorted
    by name, with `more` set when there are others. An unusable query (fewer than two letters
    and no date or INS) finds nothing rather than everything."""
    from hygie.patients import indexes

    found = Found()
    parsed = parse(query)
    if not parsed.usable:
        return found
    if not isinstance(queryset, QuerySet):
        found.extend(_first_matches(queryset, parsed, limit, found))
        found.sort(key=by_name)
        return found
    narrowed = indexes.narrow(queryset, names=parsed.names, dates=parsed.dates, ins=parsed.ins)
    confirmed = _first_matches(_candidates(narrowed), parsed, limit, found)
    # Sorted from the values already decrypted (the birth date is decrypted here, for the rows
    # shown only); then the model instances, for these rows only.
    confirmed.sort(key=by_name)
    found.extend(row.patient(narrowed.db) for row in confirmed)
    return found


def _first_matches(rows: Iterable[Any], parsed: ParsedQuery, limit: int, found: Found) -> list[Any]:
    """The first `limit` rows that match; `found.more` set when one more does."""
    kept: list[Any] = []
    for row in rows:
        if not _matches(row, parsed):
            continue
        if len(kept) == limit:
            found.more = True
            break
        kept.append(row)
    return kept


def by_name(patient: Patient | _Row) -> tuple[str, str, date]:
    """Sort key of a list of results: name, first names, birth date."""
    return (fold(patient.last_name), fold(patient.first_names), patient.birth_date or date.min)

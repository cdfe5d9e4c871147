"""The blind indexes of a patient (hygie.lib.blindindex), kept in step with their identity.

Patient.save() calls `refresh`; search calls `candidates`. The values depend on the blind-index
key of the key file: no index value can be computed or checked without it.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from hygie.keys import service
from hygie.lib import blindindex
from hygie.lib.blindindex import Kind
from hygie.lib.text import fold
from hygie.patients.models import BlindIndex, Patient


def _ins_key(ins: str) -> str:
    return ins.replace(" ", "").upper()[:13]


def terms_of(patient: Patient) -> set[tuple[str, str]]:
    terms = blindindex.name_terms(patient.birth_name, patient.usage_name, patient.first_names)
    if patient.birth_date:
        terms.add((Kind.BIRTH_DATE, patient.birth_date.isoformat()))
    if patient.ins:
        terms.add((Kind.INS, _ins_key(patient.ins)))
    return terms


def rows_for(patient: Patient) -> list[BlindIndex]:
    return [
        BlindIndex(patient_id=patient.pk, kind=kind, value=value)
        for kind, value in sorted(blindindex.values(service.blind_key(), terms_of(patient)))
    ]


def refresh(patient: Patient) -> None:
    BlindIndex.objects.filter(patient_id=patient.pk).delete()
    BlindIndex.objects.bulk_create(rows_for(patient))


def narrow(queryset: QuerySet[Patient], *, names: list[str], dates: list[date], ins: str) -> QuerySet[Patient]:
    """`queryset` cut down, in SQL, to the patients whose blind indexes match every part of the
    query (a superset of the real matches: the caller filters after decryption)."""
    key = service.blind_key()

    def having(kind_terms: list[tuple[str, str]]) -> QuerySet:
        pairs = {(kind, blindindex.value(key, kind, term)) for kind, term in kind_terms}
        condition = Q()
        for kind, value in pairs:
            condition |= Q(kind=kind, value=value)
        return BlindIndex.objects.filter(condition).values("patient_id")

    if ins:
        return queryset.filter(pk__in=having([(Kind.INS, _ins_key(ins))]))
    for day in dates:
        queryset = queryset.filter(pk__in=having([(Kind.BIRTH_DATE, day.isoformat())]))
    words = [w for w in names if len(w) >= blindindex.MIN_PREFIX]
    if not words:
        return queryset
    # Either every word starts a name word …
    by_words = queryset
    for word in words:
        prefix = blindindex.lookup_prefix(word)
        by_words = by_words.filter(pk__in=having([(Kind.LAST_NAME, prefix), (Kind.FIRST_NAME, prefix)]))
    # … or the whole query starts the full name, typed without spaces.
    typed = "".join(fold(w) for w in names)
    if len(typed) < blindindex.MIN_FULL_PREFIX:
        return by_words
    by_full = queryset.filter(pk__in=having([(Kind.FULL_NAME, typed[: blindindex.MAX_FULL_PREFIX])]))
    return by_words | by_full

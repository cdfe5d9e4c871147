"""The blind indexes of a patient (hygie.lib.blindindex), kept in step with their identity.

Patient.save() calls `refresh`; search calls `candidates`. The values depend on the blind-index
key of the key file: no index value can be computed or checked without it.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

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


_TABLE = BlindIndex._meta.db_table
_SELECT = f'SELECT "patient_id" FROM "{_TABLE}" WHERE'  # noqa: S608 (constants)
_PAIR = '("kind" = %s AND "value" = %s)'


def narrow(queryset: QuerySet[Patient], *, names: list[str], dates: list[date], ins: str) -> QuerySet[Patient]:
    """`queryset` cut down, in SQL, to the patients whose blind indexes match every part of the
    query (a superset of the real matches: the caller filters after decryption).

    One filter on the caller's queryset, as few sub-selects as the query allows (a one-word
    query: one sub-select for the three kinds of index): building and compiling the SQL costs
    more than running it, on an index, for a few dozen candidates."""
    key = service.blind_key()

    def having(kind_terms: list[tuple[str, str]]) -> Q:
        pairs = sorted({(kind, blindindex.value(key, kind, term)) for kind, term in kind_terms})
        # Written out rather than built with the ORM: same SQL, a fraction of the time to build.
        condition = " OR ".join([_PAIR] * len(pairs))
        params = [x for pair in pairs for x in pair]
        return Q(pk__in=RawSQL(f"{_SELECT} ({condition})", params))  # noqa: S611 - constants, values bound

    if ins:
        return queryset.filter(having([(Kind.INS, _ins_key(ins))]))
    wanted = Q()
    for day in dates:
        wanted &= having([(Kind.BIRTH_DATE, day.isoformat())])
    words = [w for w in names if len(w) >= blindindex.MIN_PREFIX]
    if not words:
        return queryset.filter(wanted)
    # Either every word starts a name word …
    by_words = [[(Kind.LAST_NAME, p), (Kind.FIRST_NAME, p)] for p in map(blindindex.lookup_prefix, words)]
    # … or the whole query starts the full name, typed without spaces.
    typed = "".join(fold(w) for w in names)
    by_full = [(Kind.FULL_NAME, typed[: blindindex.MAX_FULL_PREFIX])]
    if len(typed) < blindindex.MIN_FULL_PREFIX:
        by_full = []
    if len(by_words) == 1:
        # One word: "starts a name word or starts the full name" is one set of index values.
        return queryset.filter(wanted & having(by_words[0] + by_full))
    names_match = Q()
    for terms in by_words:
        names_match &= having(terms)
    if by_full:
        names_match |= having(by_full)
    return queryset.filter(wanted & names_match)

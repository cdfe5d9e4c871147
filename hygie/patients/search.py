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

Cheap per candidate: only the columns of `FIELDS` are read, and of those only the names are
decrypted to match (then the birth date of the patients kept, to sort them). The SQL is built
with few expressions (hygie.patients.indexes.narrow): for a four-letter query, building and
compiling the query with the ORM cost more than running it (docs/performance.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import QuerySet

from hygie.lib.text import compact, fold
from hygie.patients.models import Patient

MIN_NAME_LENGTH = 2
# At most this many results are shown; one more is confirmed to know that there are more.
LIMIT = 50
# Candidates read (and decrypted) per round trip: the first chunk covers LIMIT + 1 confirmed
# matches plus the false positives of the truncated indexes in the common case.
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


def _name_words(patient: Patient) -> list[str]:
    return fold(f"{patient.birth_name} {patient.usage_name} {patient.first_names}").split()


def _full_names(patient: Patient) -> Iterable[str]:
    first = compact(patient.first_names)
    for last in {compact(patient.birth_name), compact(patient.usage_name)} - {""}:
        yield last + first
        yield first + last


def _matches_names(patient: Patient, words: list[str]) -> bool:
    available = _name_words(patient)
    if all(any(w.startswith(q) for w in available) for q in words):
        return True
    typed = "".join(words)
    return any(full.startswith(typed) for full in _full_names(patient))


def _matches(patient: Patient, q: ParsedQuery) -> bool:
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


def _candidates(queryset: QuerySet[Patient]) -> Iterator[Patient]:
    """The rows of `queryset` in id order, read a chunk at a time (keyset, no OFFSET): the
    consumer stops reading, and decrypting, as soon as it has enough."""
    queryset = queryset.order_by("pk").only(*FIELDS)
    if hasattr(queryset, "with_keys"):  # data keys in the same query as the rows
        queryset = queryset.with_keys()
    last = 0
    size = FIRST_CHUNK
    while True:
        chunk = list(queryset.filter(pk__gt=last)[:size])
        yield from chunk
        if len(chunk) < size:
            return
        last = chunk[-1].pk
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
    rows: Iterable[Patient] = queryset
    if isinstance(queryset, QuerySet):
        rows = _candidates(indexes.narrow(queryset, names=parsed.names, dates=parsed.dates, ins=parsed.ins))
    for patient in rows:
        if not _matches(patient, parsed):
            continue
        if len(found) == limit:
            found.more = True
            break
        found.append(patient)
    found.sort(key=by_name)
    return found


def by_name(patient: Patient) -> tuple[str, str, date]:
    """Sort key of a list of results: name, first names, birth date."""
    return (fold(patient.last_name), fold(patient.first_names), patient.birth_date or date.min)

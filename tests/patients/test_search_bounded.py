"""Bounded search: whatever the query, at most LIMIT + 1 confirmed patients are decrypted (plus the
false positives of the chunks read), in a stable order, and the page says there are more."""

from datetime import date, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.keys import fields as encrypted_fields
from hygie.patients import search as search_module
from hygie.patients.models import CareTeamMember, Patient
from hygie.patients.search import search
from tests.factories import make_patient

URL = "/patients/recherche/"


def _many(practitioner, n, **extra):
    return [
        make_patient(practitioner, birth_name=f"Marchand{chr(97 + i % 26)}", first_names="Paul",
                     birth_date=date(1950, 1, 1) + timedelta(days=i), **extra)
        for i in range(n)
    ]  # fmt: skip


def _count_decryptions(monkeypatch):
    """Every ciphertext is opened by Encrypted.open (from an instance or a row read as a tuple):
    count its calls, per field and row (public id)."""
    calls = []
    original = encrypted_fields.Encrypted.open

    def counting(self, dek, label, own, patient_uuid, ciphertext):
        calls.append((self.name, own))
        return original(self, dek, label, own, patient_uuid, ciphertext)

    monkeypatch.setattr(encrypted_fields.Encrypted, "open", counting)
    return calls


def test_it_stops_at_the_limit_and_says_there_are_more(personas):
    created = _many(personas.alice, 12)
    found = search(Patient.objects.all(), "marchand", limit=5)
    assert len(found) == 5 and found.more
    # Shown sorted by name; the five are the first five created (stable id order), not any five.
    assert [p.last_name for p in found] == sorted(p.last_name for p in found)
    assert {p.pk for p in found} == {p.pk for p in created[:5]}
    again = search(Patient.objects.all(), "marchand", limit=5)
    assert [p.pk for p in again] == [p.pk for p in found]


def test_it_reads_everything_when_there_are_few(personas):
    _many(personas.alice, 7)
    found = search(Patient.objects.all(), "marchand", limit=7)
    assert len(found) == 7 and not found.more
    assert not search(Patient.objects.all(), "marchand", limit=8).more


def test_it_decrypts_a_bounded_number_of_rows_whatever_matches(personas, monkeypatch):
    _many(personas.alice, 40)
    monkeypatch.setattr(search_module, "FIRST_CHUNK", 8)
    monkeypatch.setattr(search_module, "NEXT_CHUNK", 8)
    calls = _count_decryptions(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        found = search(Patient.objects.all(), "ma", limit=5)
    assert len(found) == 5 and found.more
    # One chunk of 8 rows was enough: its rows only were read, and of those only the 6 needed
    # (5 shown, 1 to know there are more) were decrypted: the last 2 were read, never opened.
    patient_selects = [q for q in queries.captured_queries if 'FROM "patients_patient"' in q["sql"]]
    assert len(patient_selects) == 1
    decrypted_rows = len({own for name, own in calls})
    assert decrypted_rows == 6


def test_it_unwraps_the_keys_of_the_rows_it_reaches_only(personas, monkeypatch):
    from hygie.keys import service

    _many(personas.alice, 40)
    monkeypatch.setattr(search_module, "FIRST_CHUNK", 12)
    unwrapped = []
    original = service.unwrap

    def counting(wrapped, patient_uuid):
        unwrapped.append(patient_uuid)
        return original(wrapped, patient_uuid)

    monkeypatch.setattr(service, "unwrap", counting)
    service.clear_cache()
    found = search(Patient.objects.all(), "ma", limit=5)
    assert len(found) == 5 and found.more
    # 12 rows read in one chunk; the search stopped at the 6th: the other 6 keys stay wrapped.
    assert len(unwrapped) == 6
    # The patients shown still open their other fields (their keys are in the request's cache).
    assert all(p.phone == "" for p in found) and len(unwrapped) == 6


def test_it_reads_further_chunks_until_enough_are_confirmed(personas, monkeypatch):
    # Patients that share index values but do not match ("Marc" for "marchand"), first in id order.
    for i in range(10):
        make_patient(personas.alice, birth_name="Marc", first_names="Luc", birth_date=date(1960, 1, 1 + i))
    _many(personas.alice, 6)
    monkeypatch.setattr(search_module, "FIRST_CHUNK", 4)
    monkeypatch.setattr(search_module, "NEXT_CHUNK", 4)
    found = search(Patient.objects.all(), "marcha", limit=5)
    assert len(found) == 5 and found.more
    assert {p.last_name for p in found} <= {f"Marchand{c}" for c in "abcdef"}


def test_the_page_says_more_than_fifty_and_journals_the_bound(personas, login):
    _many(personas.alice, 52)
    body = login(personas.alice).post(URL, {"q": "march"}, follow=True).content.decode()
    assert "Plus de 50 résultats, précisez la recherche" in body
    assert body.count("MARCHAND") == 50
    event = Event.objects.filter(action=Ev.PATIENT_SEARCHED).latest("pk")
    assert event.details == {"results": 50, "more": True}


def test_scope_still_applies_to_every_chunk(personas, monkeypatch):
    mine = _many(personas.alice, 3)
    theirs = _many(personas.bob, 10)
    monkeypatch.setattr(search_module, "FIRST_CHUNK", 2)
    monkeypatch.setattr(search_module, "NEXT_CHUNK", 2)
    scope = Patient.objects.filter(care_team__practitioner=personas.alice)
    found = search(scope, "marchand", limit=50)
    assert {p.pk for p in found} == {p.pk for p in mine} and not found.more
    assert not CareTeamMember.objects.filter(patient__in=theirs, practitioner=personas.alice).exists()

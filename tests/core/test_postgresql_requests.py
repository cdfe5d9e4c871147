"""Page views on PostgreSQL run without a transaction; their journal events are written after
them, and a view that tries to write is run again inside the request's transaction
(hygie/core/postgresql, issue 14). Also the health check that costs no round trip."""

from __future__ import annotations

import io

import psycopg
import pytest
from django.core.handlers.base import BaseHandler
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from hygie.audit import chain, journal, sealer
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.audit.verify import verify
from hygie.core.postgresql import base
from hygie.core.readviews import read_page, read_post
from hygie.practices.models import Practice

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backend only"),
    pytest.mark.django_db(transaction=True),
]


def _get(view, path="/essai/"):
    """The view, marked as a page that only reads, as Django's handler runs it for a GET."""
    return BaseHandler().make_view_atomic(read_page(view))(RequestFactory().get(path))


def _commands(monkeypatch) -> list[str]:
    """BEGIN / COMMIT / ROLLBACK sent by psycopg (Django's query log does not see them). The
    sealing that follows a commit is left out: `hygie serve` does it in a thread of its own
    (hygie.audit.sealer); here it is only counted, as "seal"."""
    sent: list[str] = []
    monkeypatch.setattr(sealer, "nudge", lambda using="default": sent.append("seal"))
    exec_command = psycopg.Connection._exec_command

    def spy(self, command, *args, **kwargs):
        sent.append(command.decode() if isinstance(command, bytes) else str(command))
        return exec_command(self, command, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "_exec_command", spy)
    return sent


@pytest.mark.parametrize(("sql", "read"), [
    ("SELECT 1", True),
    ('  select "a"."id" FROM "a" WHERE "a"."x" = %s', True),
    ('SELECT "a"."id" FROM "a" WHERE "a"."id" = %s FOR UPDATE', False),
    ('SELECT "a"."id" FROM "a" FOR NO KEY UPDATE OF "a"', False),
    ("SELECT id FROM a FOR SHARE", False),
    ("SELECT pg_advisory_xact_lock(%s)", False),
    ("SELECT pg_try_advisory_lock(%s)", False),
    ("SELECT nextval('a_id_seq')", False),
    ("SELECT set_config('x', 'y', false)", False),
    ("SELECT pg_notify('c', 'p')", False),
    ("INSERT INTO a (id) VALUES (1)", False),
    ("UPDATE a SET x = 1", False),
    ("DELETE FROM a", False),
    ("WITH x AS (DELETE FROM a RETURNING id) SELECT * FROM x", False),
    ("SET TIME ZONE 'UTC'", False),
    ("CREATE TABLE b (id int)", False),
])
def test_only_plain_selects_count_as_reads(sql, read):
    assert base.is_read(sql) is read


def test_a_page_view_sends_no_begin_nor_commit_and_writes_its_event_after(monkeypatch):
    sent = _commands(monkeypatch)
    seen: list[object] = []

    def view(request):
        seen.append((connection.get_autocommit(), Practice.objects.count()))
        event = journal.record(Ev.AGENDA_VIEWED)
        assert event.pk is None  # held until the view returns
        assert not Event.objects.exists()
        return HttpResponse("ok")

    assert _get(view).status_code == 200
    assert seen == [(True, 0)]
    assert sent == ["seal"]  # the event's INSERT committed on its own, then sealing is asked for
    event = Event.objects.get()
    assert event.action == Ev.AGENDA_VIEWED
    chain.seal()
    assert verify().ok


def test_a_post_keeps_the_request_transaction(monkeypatch):
    sent = _commands(monkeypatch)

    def view(request):
        assert connection.in_atomic_block and connection.reads is None
        journal.record(Ev.AGENDA_VIEWED)
        return HttpResponse("ok")

    assert BaseHandler().make_view_atomic(view)(RequestFactory().post("/essai/")).status_code == 200
    assert sent == ["BEGIN", "COMMIT", "seal"]
    assert Event.objects.count() == 1


def test_a_post_marked_as_a_read_page_runs_without_a_transaction_too(monkeypatch):
    """The patient search is a POST (no name in a URL) that only reads."""
    sent = _commands(monkeypatch)

    def view(request):
        assert connection.get_autocommit() and not connection.in_atomic_block
        journal.record(Ev.PATIENT_SEARCHED)
        return HttpResponse("ok")

    assert BaseHandler().make_view_atomic(read_post(view))(RequestFactory().post("/essai/")).status_code == 200
    assert sent == ["seal"]
    assert Event.objects.get().action == Ev.PATIENT_SEARCHED


def test_the_post_of_a_read_page_keeps_the_request_transaction(monkeypatch):
    """A form page: its GET only reads, its POST writes (a consultation): run once, in the
    request's transaction, never refused then run again."""
    sent = _commands(monkeypatch)
    calls: list[bool] = []

    def view(request):
        calls.append(connection.in_atomic_block)
        Practice.objects.create(name="Cabinet des Lilas")
        journal.record(Ev.AGENDA_VIEWED)
        return HttpResponse("ok")

    assert BaseHandler().make_view_atomic(read_page(view))(RequestFactory().post("/essai/")).status_code == 200
    assert calls == [True]
    assert sent == ["BEGIN", "COMMIT", "seal"]


def test_a_get_view_not_marked_as_a_read_page_keeps_the_request_transaction(monkeypatch):
    """A GET view may have effects outside the database (an OpenID Connect callback spends its
    single-use code): it is never run twice, so it keeps the request's transaction."""
    sent = _commands(monkeypatch)
    calls: list[bool] = []

    def view(request):
        calls.append(connection.in_atomic_block)
        Practice.objects.create(name="Cabinet des Lilas")
        journal.record(Ev.AGENDA_VIEWED)
        return HttpResponse("ok")

    assert BaseHandler().make_view_atomic(view)(RequestFactory().get("/essai/")).status_code == 200
    assert calls == [True]
    assert sent == ["BEGIN", "COMMIT", "seal"]


def test_a_page_view_that_writes_is_refused_before_the_server_and_run_again_in_a_transaction(monkeypatch):
    calls: list[object] = []

    def view(request):
        calls.append((connection.reads, connection.in_atomic_block))
        journal.record(Ev.AGENDA_VIEWED)
        Practice.objects.create(name="Cabinet des Lilas")
        journal.record(Ev.BILLING_VIEWED)
        return HttpResponse("ok")

    with CaptureQueriesContext(connection) as queries:
        assert _get(view).status_code == 200
    assert len(calls) == 2
    assert calls[0][0].failed and calls[0][1] is False
    assert calls[1] == (None, True)  # the second run: in the request's transaction
    inserts = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"] and "practices" in q["sql"]]
    assert len(inserts) == 1  # the refused one never reached the server
    assert Practice.objects.count() == 1
    # Only the second run's events: the first run's were dropped with it.
    assert list(Event.objects.order_by("id").values_list("action", flat=True)) == [
        Ev.AGENDA_VIEWED, Ev.BILLING_VIEWED]


def test_a_view_that_swallows_the_refusal_is_run_again_too():
    calls: list[int] = []

    def view(request):
        calls.append(1)
        try:
            Practice.objects.create(name="Cabinet des Lilas")
        except Exception:  # noqa: BLE001, S110 - what a careless view would do
            pass
        return HttpResponse("ok" if len(calls) == 2 else "incomplet")

    assert _get(view).content == b"ok"
    assert len(calls) == 2 and Practice.objects.count() == 1


def test_a_locking_read_or_a_transaction_of_its_own_makes_the_view_run_again():
    calls: list[bool] = []

    def locking(request):
        calls.append(connection.in_atomic_block)
        list(Practice.objects.select_for_update())  # Django refuses it outside a transaction
        return HttpResponse("ok")

    assert _get(locking).status_code == 200
    assert calls == [False, True]

    calls.clear()

    def with_block(request):
        calls.append(connection.in_atomic_block)
        with transaction.atomic():
            journal.record(Ev.AGENDA_VIEWED)  # its INSERT inside the block: not held, refused
        return HttpResponse("ok")

    assert _get(with_block).status_code == 200
    assert calls == [False, True]
    assert Event.objects.count() == 1


def test_a_view_that_raises_leaves_no_event():
    def view(request):
        journal.record(Ev.AGENDA_VIEWED)
        raise RuntimeError("la vue échoue")

    with pytest.raises(RuntimeError):
        _get(view)
    assert not Event.objects.exists()


def test_several_events_of_a_page_are_written_together_in_order(monkeypatch):
    sent = _commands(monkeypatch)

    def view(request):
        journal.record(Ev.AGENDA_VIEWED)
        journal.record(Ev.BILLING_VIEWED)
        return HttpResponse("ok")

    assert _get(view).status_code == 200
    assert sent[:2] == ["BEGIN", "COMMIT"] and set(sent[2:]) == {"seal"}  # one transaction
    assert list(Event.objects.order_by("id").values_list("action", flat=True)) == [
        Ev.AGENDA_VIEWED, Ev.BILLING_VIEWED]


def test_a_failed_journal_write_answers_an_error_not_the_page(personas, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    patient = personas.alice_patient

    def broken(*args, **kwargs):
        raise RuntimeError("journal indisponible")

    monkeypatch.setattr(chain, "append", broken)
    response = client.get(f"/patients/{patient.public_id}/")
    assert response.status_code == 500
    assert patient.last_name.encode() not in response.content


def test_the_main_pages_write_nothing_during_their_view(personas, login, monkeypatch):
    """The pages of the load mix (bench/bench_load.py) only read in their view: none is run twice,
    and each leaves its event."""
    from hygie.patients import actions as patient_actions

    patient = personas.alice_patient
    document = patient_actions.upload_document(actor=personas.alice, patient=patient, title="Compte rendu",
                                               kind="compte_rendu", fileobj=io.BytesIO(b"%PDF-1.4\n%%EOF\n"))
    refused: list[str] = []
    guard = base._guard

    def counted(db, query):
        try:
            guard(db, query)
        except base.ReadViewWrote:
            refused.append(str(query)[:60])
            raise

    monkeypatch.setattr(base, "_guard", counted)
    client = login(personas.alice)
    before = Event.objects.count()
    urls = (f"/patients/{patient.public_id}/", "/patients/", "/agenda/", "/", "/facturation/",
            f"/patients/{patient.public_id}/consultations/nouvelle/",
            f"/patients/{patient.public_id}/documents/ajouter/", f"/patients/documents/{document.public_id}/")
    for url in urls:
        assert client.get(url).status_code == 200, url
    page = client.get(f"/patients/{patient.public_id}/consultations/nouvelle/")
    token = page.context["csrf_token"] if page.context else ""
    added = client.post(f"/patients/{patient.public_id}/consultations/nouvelle/", {
        "csrfmiddlewaretoken": token, "date": "01/12/2026 10:00", "motif": "Contrôle",
        "observations": "Examen normal."})
    assert added.status_code in (200, 302), added.status_code
    found = client.post("/patients/recherche/", {"q": patient.last_name[:3]})
    assert found.status_code == 303
    assert client.get(found["Location"]).status_code == 200
    assert refused == []
    assert Event.objects.filter(action=Ev.PATIENT_SEARCHED).exists()
    assert Event.objects.filter(action=Ev.CONSULTATION_CREATED).exists()
    assert Event.objects.filter(action=Ev.PATIENT_VIEWED, patient_id=patient.pk).exists()
    assert Event.objects.filter(action=Ev.DOCUMENT_DOWNLOADED).exists()
    assert Event.objects.count() > before


class TestHealthCheck:
    def test_an_idle_connection_is_checked_without_a_round_trip(self, monkeypatch):
        connection.ensure_connection()
        with CaptureQueriesContext(connection):
            executed: list[str] = []
            original = psycopg.Cursor.execute

            def spy(self, query, *args, **kwargs):
                executed.append(str(query))
                return original(self, query, *args, **kwargs)

            monkeypatch.setattr(psycopg.Cursor, "execute", spy)
            assert connection.is_usable()
        assert executed == []

    def test_a_connection_the_server_ended_is_unusable_and_replaced(self):
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The server told the client (FATAL) and closed: readable on an idle connection.
        import time

        for _ in range(100):
            if not connection.is_usable():
                break
            time.sleep(0.02)
        assert not connection.is_usable()
        connection.health_check_done = False
        connection.close_if_health_check_failed()
        assert Practice.objects.count() == 0  # a new connection answers
        assert connection.connection.info.backend_pid != pid

    def test_a_connection_left_in_a_transaction_is_unusable(self):
        connection.ensure_connection()
        raw = connection.connection
        raw.autocommit = False
        raw.execute("SELECT 1")
        try:
            assert not connection.is_usable()
        finally:
            raw.rollback()
            raw.autocommit = True
        assert connection.is_usable()

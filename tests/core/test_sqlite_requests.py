"""Page views on SQLite run in a read transaction; their journal events are written after it
(hygie/core/sqlite/requests.py, issue 14)."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from django.core.handlers.base import BaseHandler
from django.db import connection, connections, transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory

from hygie.audit import chain, journal
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.audit.verify import verify
from hygie.core.sqlite import base
from hygie.practices.models import Practice

pytestmark = [
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite backend only"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def file_db(tmp_path):
    """The test database copied to a file in WAL mode, as in production: the shared in-memory
    test database locks whole tables, which would hide what these tests look at. The in-memory
    connection is kept aside (closing it would drop that database) and put back after."""
    connection.ensure_connection()
    memory, path = connection.connection, tmp_path / "hygie.sqlite3"
    copy = sqlite3.connect(path)
    memory.backup(copy)
    copy.execute("PRAGMA journal_mode=WAL")
    copy.close()
    name = connection.settings_dict["NAME"]
    connection.connection = None
    connection.settings_dict["NAME"] = str(path)
    try:
        yield path
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
        connection.connection = memory


def _wrapped(view):
    """The view as Django's handler runs it: inside the request's transaction."""
    return BaseHandler().make_view_atomic(view)


def _get(view, path="/essai/"):
    return _wrapped(view)(RequestFactory().get(path))


def test_a_page_view_writes_its_event_sealed_and_the_chain_verifies(personas, login):
    client = login(personas.alice)
    patient = personas.alice_patient
    assert client.get(f"/patients/{patient.public_id}/").status_code == 200
    event = Event.objects.get(action=Ev.PATIENT_VIEWED, patient_id=patient.pk)
    assert event.seq is not None and event.chain_hash
    assert verify().ok


def test_a_streamed_download_still_comes_with_its_event(personas, login):
    import io

    from hygie.patients import actions as patient_actions

    patient = personas.alice_patient
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    document = patient_actions.upload_document(actor=personas.alice, patient=patient, title="Compte rendu",
                                               kind="compte_rendu", fileobj=io.BytesIO(pdf))
    response = login(personas.alice).get(f"/patients/documents/{document.public_id}/")
    assert response.status_code == 200
    assert Event.objects.filter(action=Ev.DOCUMENT_DOWNLOADED, seq__isnull=False).count() == 1
    assert b"".join(response.streaming_content) == pdf


def test_the_main_pages_write_nothing_during_their_view(personas, login, monkeypatch):
    """The pages of the load mix (bench/bench_load.py) only read in their view: none is run twice."""
    import io

    from hygie.patients import actions as patient_actions

    patient = personas.alice_patient
    document = patient_actions.upload_document(actor=personas.alice, patient=patient, title="Compte rendu",
                                               kind="compte_rendu", fileobj=io.BytesIO(b"%PDF-1.4\n%%EOF\n"))
    upgrades: list[str] = []
    upgrade = base.DatabaseWrapper.upgrade

    def counted(self, reads, statement):
        upgrades.append("écriture")
        return upgrade(self, reads, statement)

    monkeypatch.setattr(base.DatabaseWrapper, "upgrade", counted)
    client = login(personas.alice)
    for url in (f"/patients/{patient.public_id}/", "/patients/", "/agenda/", "/", "/facturation/",
                f"/patients/{patient.public_id}/consultations/nouvelle/",
                f"/patients/{patient.public_id}/documents/ajouter/", f"/patients/documents/{document.public_id}/"):
        assert client.get(url).status_code == 200, url
    assert upgrades == []


def test_a_page_view_holds_no_write_lock_and_runs_beside_another(file_db, monkeypatch):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 1)
    inside = threading.Barrier(3, timeout=10)  # the two views and this test
    release = threading.Event()
    seen: list[object] = []

    def view(request):
        seen.append(Practice.objects.count())  # a read: the snapshot is held from here on
        journal.record(Ev.AGENDA_VIEWED)
        inside.wait()  # both views are inside at the same time
        release.wait(10)
        return HttpResponse("ok")

    def run() -> None:
        try:
            assert _get(view).status_code == 200
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        inside.wait()  # a third party: both views are now blocked inside, snapshots held
        assert not base._WRITER.locked()
        with transaction.atomic():  # another writer is not kept waiting by the page views
            Practice.objects.create(name="Cabinet des Lilas")
        assert Event.objects.filter(action=Ev.AGENDA_VIEWED).count() == 0  # not before the views end
    finally:
        release.set()
        for thread in threads:
            thread.join()
    assert seen == [0, 0]
    assert Event.objects.filter(action=Ev.AGENDA_VIEWED, seq__isnull=False).count() == 2
    assert verify().ok


def test_a_page_view_that_writes_keeps_its_write_and_its_events_together():
    def view(request):
        journal.record(Ev.AGENDA_VIEWED)
        Practice.objects.create(name="Cabinet des Lilas")
        assert connection.reads.upgraded
        journal.record(Ev.BILLING_VIEWED)
        return HttpResponse("ok")

    assert _get(view).status_code == 200
    assert Practice.objects.count() == 1
    # Both written in the view's transaction, before its commit, in the order recorded.
    assert list(Event.objects.order_by("seq").values_list("action", flat=True)) == [
        Ev.AGENDA_VIEWED, Ev.BILLING_VIEWED]
    assert verify().ok

    def failing_view(request):
        journal.record(Ev.AGENDA_VIEWED)
        Practice.objects.create(name="Cabinet des Tilleuls")
        journal.record(Ev.BILLING_VIEWED)
        raise RuntimeError("après l'écriture")

    with pytest.raises(RuntimeError):
        _get(failing_view)
    assert Practice.objects.count() == 1 and Event.objects.count() == 2


def test_a_failed_journal_write_undoes_the_write_of_a_page_view(monkeypatch):
    def view(request):
        Practice.objects.create(name="Cabinet des Lilas")
        journal.record(Ev.AGENDA_VIEWED)
        return HttpResponse("ok")

    def broken(*args, **kwargs):
        raise RuntimeError("journal indisponible")

    monkeypatch.setattr(chain, "append", broken)
    with pytest.raises(RuntimeError):
        _get(view)
    assert not Practice.objects.exists() and not Event.objects.exists()
    assert not base._WRITER.locked()


def test_an_event_recorded_in_a_savepoint_rolled_back_is_not_written():
    def view(request):
        journal.record(Ev.AGENDA_VIEWED)
        try:
            with transaction.atomic():
                journal.record(Ev.BILLING_VIEWED)
                raise ValueError
        except ValueError:
            pass
        return HttpResponse("ok")

    assert _get(view).status_code == 200
    assert list(Event.objects.values_list("action", flat=True)) == [Ev.AGENDA_VIEWED]


def test_a_page_view_whose_snapshot_is_stale_when_it_writes_is_run_again_immediate(file_db):
    calls: list[object] = []

    def other_writer() -> None:
        try:
            with transaction.atomic():
                Practice.objects.create(name="Cabinet des Tilleuls")
        finally:
            connections.close_all()

    def view(request):
        calls.append(connection.reads)
        journal.record(Ev.AGENDA_VIEWED)
        Practice.objects.count()  # the snapshot starts
        if len(calls) == 1:  # someone commits meanwhile: SQLITE_BUSY_SNAPSHOT at the write
            thread = threading.Thread(target=other_writer)
            thread.start()
            thread.join()
        Practice.objects.create(name="Cabinet des Lilas")
        return HttpResponse("ok")

    assert _get(view).status_code == 200
    assert len(calls) == 2 and calls[0].failed and calls[1] is None  # the second run: IMMEDIATE
    assert sorted(Practice.objects.values_list("name", flat=True)) == ["Cabinet des Lilas", "Cabinet des Tilleuls"]
    assert Event.objects.filter(action=Ev.AGENDA_VIEWED, seq__isnull=False).count() == 1  # the first run's is gone
    assert verify().ok
    assert not base._WRITER.locked()


def test_a_view_that_swallows_the_refusal_is_run_again_too():
    calls: list[int] = []

    def view(request):
        calls.append(1)
        Practice.objects.count()
        if len(calls) == 1:
            taken = base._WRITER.acquire(timeout=2)  # another thread of the process is writing
            try:
                Practice.objects.create(name="Cabinet des Lilas")
            except Exception:  # noqa: BLE001, S110 - what a careless view would do
                pass
            finally:
                if taken:
                    base._WRITER.release()
            return HttpResponse("incomplet")
        Practice.objects.create(name="Cabinet des Lilas")
        return HttpResponse("ok")

    assert _get(view).content == b"ok"
    assert len(calls) == 2 and Practice.objects.count() == 1


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
    assert not base._WRITER.locked()


def test_other_methods_keep_an_immediate_transaction():
    def view(request):
        assert connection.reads is None and base._WRITER.locked()
        journal.record(Ev.AGENDA_VIEWED)
        return HttpResponse("ok")

    assert _wrapped(view)(RequestFactory().post("/essai/")).status_code == 200
    assert Event.objects.get().seq is not None

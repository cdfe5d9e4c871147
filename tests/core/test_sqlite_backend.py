"""The SQLite backend queues a process's writers on one lock, always released (hygie/core/sqlite)."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from hygie.core.sqlite import base
from hygie.practices.models import Practice

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite backend only")


@pytest.mark.django_db(transaction=True)
def test_the_writer_lock_is_held_by_a_transaction_and_released_by_commit_or_rollback():
    assert isinstance(connections["default"], base.DatabaseWrapper)
    assert not base._WRITER.locked()
    with transaction.atomic():
        Practice.objects.create(name="Cabinet des Lilas")
        assert base._WRITER.locked()
    assert not base._WRITER.locked()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Practice.objects.create(name="Cabinet des Tilleuls")
        1 / 0  # noqa: B018 - an error inside the transaction
    assert not base._WRITER.locked()
    assert list(Practice.objects.values_list("name", flat=True)) == ["Cabinet des Lilas"]


@pytest.mark.django_db(transaction=True)
def test_a_writer_waits_at_most_the_busy_timeout(settings, monkeypatch):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.2)
    held = threading.Event()
    release = threading.Event()

    def other_writer() -> None:
        base._WRITER.acquire()
        held.set()
        release.wait(10)
        base._WRITER.release()

    thread = threading.Thread(target=other_writer)
    thread.start()
    held.wait(10)
    try:
        with pytest.raises(OperationalError, match="database is locked"), transaction.atomic():
            pass
        assert not connection.in_atomic_block
    finally:
        release.set()
        thread.join()
    with transaction.atomic():  # free again
        assert base._WRITER.locked()


@pytest.fixture
def file_database(tmp_path):
    """A connection of this backend to a database in a file, outside Django's list of databases
    (the suite's own is in memory, shared cache: there another connection gets "table is
    locked", not the "busy" of another process)."""
    scratch = base.DatabaseWrapper({
        **connection.settings_dict, "NAME": str(tmp_path / "scratch.sqlite3"),
        "OPTIONS": {**connection.settings_dict["OPTIONS"], "timeout": 20, "transaction_mode": "IMMEDIATE",
                    "init_command": "PRAGMA journal_mode=WAL;"},
        "TEST": {}, "ATOMIC_REQUESTS": False,
    }, alias="scratch_file")
    with scratch.cursor() as cursor:
        cursor.execute("CREATE TABLE note (text TEXT)")
    yield scratch
    scratch.close()


def _other_process_holds_the_write_lock(path: str, held: threading.Event, release: threading.Event) -> None:
    """Another connection, as another process would hold it: BEGIN IMMEDIATE, then wait."""
    import sqlite3

    other = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    held.set()
    release.wait(10)
    other.execute("ROLLBACK")
    other.close()


def _holder(scratch) -> tuple[threading.Thread, threading.Event, threading.Event]:
    held, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=_other_process_holds_the_write_lock,
                              args=(scratch.settings_dict["NAME"], held, release))
    thread.start()
    held.wait(10)
    return thread, held, release


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("observed", [False, True], ids=["driver", "django-cursor"])
def test_a_writer_polls_another_process_s_write_lock_and_gets_it_once_free(file_database, monkeypatch, observed):
    # Observed (query log on): each try goes through Django's cursor, and shows in the log.
    # Otherwise the driver runs them directly (hygie.core.sqlite.base._try_begin_immediate).
    file_database.force_debug_cursor = observed
    thread, _, release = _holder(file_database)
    tries, cursors = [], []
    real_try, real_cursor = base.DatabaseWrapper._try_begin_immediate, base.DatabaseWrapper.cursor

    def counting_try(self, deadline):
        if self is file_database:
            tries.append(1)
            if len(tries) == 3:
                release.set()  # the other "process" ends while we poll
        return real_try(self, deadline)

    def counting_cursor(self, *args, **kwargs):
        if self is file_database:
            cursors.append(1)
        return real_cursor(self, *args, **kwargs)

    monkeypatch.setattr(base.DatabaseWrapper, "_try_begin_immediate", counting_try)
    monkeypatch.setattr(base.DatabaseWrapper, "cursor", counting_cursor)
    try:
        file_database._start_transaction_under_autocommit()  # what atomic() does on SQLite
        assert file_database.connection.in_transaction
        file_database.force_debug_cursor = False
        with file_database.cursor() as cursor:
            cursor.execute("INSERT INTO note VALUES ('written')")
        file_database.commit()
    finally:
        release.set()
        thread.join()
    assert len(tries) >= 3  # BEGIN IMMEDIATE refused while held, then accepted
    # Through Django's cursor only when observed: every try, then the INSERT; else the INSERT.
    assert len(cursors) == (len(tries) + 1 if observed else 1)
    with file_database.cursor() as cursor:
        cursor.execute("SELECT text FROM note")
        assert cursor.fetchall() == [("written",)]
        cursor.execute("PRAGMA busy_timeout")  # SQLite's own wait is back for other statements
        assert cursor.fetchone()[0] == 20_000


@pytest.mark.django_db(transaction=True)
def test_another_process_holding_the_write_lock_past_the_timeout_is_an_error(file_database, monkeypatch):
    monkeypatch.setitem(file_database.settings_dict["OPTIONS"], "timeout", 0.2)
    thread, _, release = _holder(file_database)
    try:
        # Django's error (the driver's as its cause), whichever path ran the tries.
        with pytest.raises(OperationalError, match="locked") as refused:
            file_database._start_transaction_under_autocommit()
        assert isinstance(refused.value.__cause__, sqlite3.OperationalError)
        assert not base._WRITER.locked() and not file_database.connection.in_transaction
    finally:
        release.set()
        thread.join()
    with file_database.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM note")
        assert cursor.fetchone()[0] == 0

"""The SQLite backend queues a process's writers on one lock, always released (hygie/core/sqlite)."""

from __future__ import annotations

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

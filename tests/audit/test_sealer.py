"""hygie.audit.sealer: on PostgreSQL, in a server process, events are sealed by the process's
sealer thread after the request's commit, not by the request itself."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from hygie.audit import chain, journal, sealer
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.audit.verify import verify

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite seals inside the writer's transaction"),
]


@pytest.fixture
def background(monkeypatch):
    """Background sealing on, as `hygie serve` turns it on; and who sealed (chain.seal or one
    chain.seal_round), from where."""
    calls: list[str] = []

    def spying(real):
        def spy(*args, **kwargs):
            calls.append(threading.current_thread().name)
            return real(*args, **kwargs)

        return spy

    monkeypatch.setattr(chain, "seal", spying(chain.seal))
    monkeypatch.setattr(chain, "seal_round", spying(chain.seal_round))
    monkeypatch.setattr(sealer, "_enabled", True)
    yield calls
    sealer.stop()  # its connection closed: the test database can be flushed and dropped


def _sealed_soon(pk: int, seconds: float = 10.0) -> Event:
    deadline = time.monotonic() + seconds
    while True:
        event = Event.objects.get(pk=pk)
        if event.seq is not None or time.monotonic() > deadline:
            return event
        time.sleep(0.02)


def test_without_it_the_writer_seals_right_after_its_commit(monkeypatch):
    monkeypatch.setattr(sealer, "_enabled", False)
    with transaction.atomic():
        event = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1)
    # No waiting: sealed by the writer's own thread before record's transaction returned.
    assert Event.objects.get(pk=event.pk).seq is not None


def test_the_writer_commits_and_the_sealer_thread_seals(background):
    with transaction.atomic():
        event = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1)
    # Committed with its transaction, whatever the sealing.
    assert Event.objects.filter(pk=event.pk).exists()
    sealed = _sealed_soon(event.pk)
    assert sealed.seq is not None and sealed.chain_hash
    assert background and all(name == "hygie-sealer" for name in background)
    assert verify().ok


def test_nothing_is_sealed_for_a_rolled_back_writer(background):
    with pytest.raises(RuntimeError), transaction.atomic():
        journal.record(Ev.PATIENT_VIEWED, patient_id=1)
        raise RuntimeError("the action fails")
    time.sleep(0.2)
    assert not Event.objects.exists()
    assert background == []


def test_many_writers_at_once_are_all_sealed_without_a_gap(background):
    def write(n: int) -> None:
        try:
            for _ in range(n):
                with transaction.atomic():
                    journal.record(Ev.PATIENT_VIEWED, patient_id=1)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(15,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    last = Event.objects.order_by("-id").first()
    _sealed_soon(last.pk)
    deadline = time.monotonic() + 10
    while Event.objects.filter(seq__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    # Gapless (an event committed after a later id was sealed comes after it: as inline).
    seqs = sorted(Event.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, 61))
    report = verify()
    assert report.ok and report.pending == 0, report.summary()


def test_a_failed_round_is_retried_and_the_thread_lives_on(background, monkeypatch):
    real = chain.seal_round  # the spy
    failures = []

    def flaky(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise ConnectionError("base injoignable un instant")
        return real(*args, **kwargs)

    monkeypatch.setattr(chain, "seal_round", flaky)
    monkeypatch.setattr(sealer, "RETRY_SECONDS", 0.05)
    with transaction.atomic():
        event = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1)
    assert _sealed_soon(event.pk).seq is not None
    assert failures == [1]
    # Still alive: the next writer is sealed too.
    with transaction.atomic():
        second = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1)
    assert _sealed_soon(second.pk).seq is not None


def test_stop_seals_what_is_pending_and_ends_the_thread(background):
    with transaction.atomic():
        first = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1)
    _sealed_soon(first.pk)
    thread = sealer._thread
    # Left pending without waking anyone (as by a server killed between commit and seal).
    left = Event.objects.create(at=timezone.now(), action=Ev.AGENDA_VIEWED)
    sealer.stop()  # a normal stop: the thread seals once more, closes its connection and ends
    assert Event.objects.get(pk=left.pk).seq is not None
    assert thread is not None and not thread.is_alive()
    assert verify().ok


@pytest.mark.django_db(transaction=False)
def test_sigterm_seals_first_then_dies_of_the_signal(monkeypatch):
    """What a server process does when the supervisor stops it (no real signal sent here)."""
    import os
    import signal as signals

    done: list[str] = []
    installed: dict[int, object] = {}
    monkeypatch.setattr(sealer, "stop", lambda timeout: done.append(f"stop {timeout}"))
    monkeypatch.setattr(signals, "signal", lambda sig, handler: installed.__setitem__(sig, handler))
    monkeypatch.setattr(os, "kill", lambda pid, sig: done.append(f"kill {pid} {sig}"))
    sealer.seal_on_sigterm()
    installed[signals.SIGTERM](signals.SIGTERM, None)
    assert done == ["stop 5.0", f"kill {os.getpid()} {signals.SIGTERM}"]
    assert installed[signals.SIGTERM] is signals.SIG_DFL  # then the default: death by SIGTERM


def test_the_commits_of_the_window_are_sealed_in_one_round_and_stop_cuts_it_short(background, monkeypatch):
    # A window far longer than the test: only stop() can end it.
    monkeypatch.setattr(sealer, "COALESCE_SECONDS", 3600)
    events = []
    for n in range(3):
        with transaction.atomic():
            events.append(journal.record(Ev.PATIENT_VIEWED, patient_id=n, with_id=True))
    thread = sealer._thread
    assert thread is not None and background == []  # woken, still waiting for more commits
    sealer.stop()
    assert not thread.is_alive()
    assert background == ["hygie-sealer"]  # one round for the three (the last one, at stop)
    assert all(Event.objects.get(pk=e.pk).seq is not None for e in events)
    assert verify().ok


def test_a_round_that_finds_the_head_taken_comes_back(background, monkeypatch):
    # Another sealer holds the head (a session of its own): the thread's round seals nothing and
    # says to come back; once the head is free, a round seals and nothing is left.
    monkeypatch.setattr(sealer, "COALESCE_SECONDS", 0.01)
    with transaction.atomic():
        event = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1)
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [chain._HEAD_LOCK])
        assert chain.seal_round() is True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [chain._HEAD_LOCK])
    finally:
        other.close()
    assert _sealed_soon(event.pk).seq is not None
    assert chain.seal_round() is False
    assert verify().ok


def _head_lock_free() -> bool:
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [chain._HEAD_LOCK])
            free = cursor.fetchone()[0]
            if free:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [chain._HEAD_LOCK])
        return free
    finally:
        other.close()


def test_a_round_reads_the_head_with_the_pending_events_and_seals_them_in_id_order(monkeypatch):
    from hygie.audit.models import ChainHead

    monkeypatch.setattr(sealer, "nudge", lambda using="default": None)  # nothing sealed but by the rounds
    first = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1)
    assert ChainHead.objects.count() == 0  # no head yet: the round takes the general path
    assert chain.seal_round() is False
    assert Event.objects.get(pk=first.pk).seq == 1
    events = [journal.record(Ev.PATIENT_VIEWED, patient_id=n, with_id=True) for n in range(2, 6)]
    assert chain.seal_round(batch=3) is True  # one left beyond the batch: come back
    assert chain.seal_round() is False
    assert [Event.objects.get(pk=e.pk).seq for e in events] == [2, 3, 4, 5]
    assert ChainHead.objects.get().seq == 5
    assert chain.seal_round() is False  # nothing pending: the head alone
    assert _head_lock_free()
    assert verify().ok


def test_a_failed_round_releases_the_head(monkeypatch):
    monkeypatch.setattr(sealer, "nudge", lambda using="default": None)
    journal.record(Ev.PATIENT_VIEWED, patient_id=1)
    chain.seal_round()
    journal.record(Ev.PATIENT_VIEWED, patient_id=2)

    def broken(*args):
        raise RuntimeError("simulated")

    monkeypatch.setattr(chain, "_chain_rows", broken)
    with pytest.raises(RuntimeError):
        chain.seal_round()
    assert _head_lock_free()
    assert Event.objects.filter(seq__isnull=True).count() == 1  # still pending, sealed by the next round
    monkeypatch.undo()
    assert chain.seal_round() is False
    assert verify().ok


def _holding(lock: int):
    """Another session (as another server process would) holding a session advisory lock."""
    from django.db import connections

    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [lock])
    return other


def _dies(other, lock: int) -> None:
    """That process dies: its session ends and the lock is freed. Unlocked first, explicitly: the
    server process of a closed connection frees its locks a moment after the close returns."""
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [lock])
    other.close()


def test_one_sealer_per_database_the_role_is_a_session_lock(monkeypatch):
    monkeypatch.setattr(sealer, "CLAIM_SECONDS", 0.0)
    role, tried = {}, {}
    other = _holding(sealer.SEALER_LOCK)  # another process is the sealer
    try:
        assert sealer._sealer_of(connection, role, tried) is False
    finally:
        _dies(other, sealer.SEALER_LOCK)
    assert sealer._sealer_of(connection, role, tried) is True
    assert role == {"default": connection.connection}
    _dies(connection, sealer.SEALER_LOCK)  # the role goes with the session
    assert sealer._sealer_of(connection, role, tried) is True  # taken again on a new one
    assert role == {"default": connection.connection}
    connection.close()


def test_a_process_that_is_not_the_sealer_tries_for_the_role_at_most_every_claim_seconds(monkeypatch):
    monkeypatch.setattr(sealer, "CLAIM_SECONDS", 3600.0)
    role, tried = {}, {}
    other = _holding(sealer.SEALER_LOCK)
    try:
        assert sealer._sealer_of(connection, role, tried) is False
    finally:
        _dies(other, sealer.SEALER_LOCK)
    # Free now, but tried for a moment ago: not before CLAIM_SECONDS (no statement sent).
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert sealer._sealer_of(connection, role, tried) is False
    assert captured.captured_queries == []
    connection.close()


def test_the_sealer_seals_the_events_of_the_other_processes_unwoken(background):
    with transaction.atomic():
        first = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1)  # starts this process's thread
    _sealed_soon(first.pk)
    # Committed by another process (no nudge here): the database's sealer finds it by itself.
    left = Event.objects.create(at=timezone.now(), action=Ev.AGENDA_VIEWED)
    assert _sealed_soon(left.pk).seq is not None
    assert verify().ok


def test_a_process_that_is_not_the_sealer_leaves_the_sealing_to_it_until_it_dies(background, monkeypatch):
    monkeypatch.setattr(sealer, "CLAIM_SECONDS", 0.0)
    monkeypatch.setattr(sealer, "COALESCE_SECONDS", 0.01)
    answers: list[bool] = []
    real = sealer._sealer_of

    def spy(*args):
        answers.append(real(*args))
        return answers[-1]

    monkeypatch.setattr(sealer, "_sealer_of", spy)
    other = _holding(sealer.SEALER_LOCK)  # another process is the sealer (and seals nothing here)
    try:
        with transaction.atomic():
            event = journal.record(Ev.PATIENT_VIEWED, with_id=True, patient_id=1)
        deadline = time.monotonic() + 10
        while not answers and time.monotonic() < deadline:
            time.sleep(0.01)
        assert answers[:1] == [False]  # the round woken by the commit, done: not the sealer
        assert Event.objects.get(pk=event.pk).seq is None and background == []
    finally:
        _dies(other, sealer.SEALER_LOCK)  # the sealer's process died
    with transaction.atomic():
        journal.record(Ev.PATIENT_VIEWED, patient_id=2)  # the next commit wakes this thread: it takes over
    assert _sealed_soon(event.pk).seq is not None
    assert answers[-1] is True
    assert verify().ok

"""The writer threads of a restore (hygie.lib.backuparchive._Writers): decrypted members wait for
them within a memory bound, and no writer idles because of that bound."""

from __future__ import annotations

import hashlib
import threading

import pytest

from hygie.lib import backuparchive

WAIT = 10  # seconds: only ever reached if the code under test is broken


class _Held:
    """Sinks that block until released: how many are open at once tells what the writers got."""

    def __init__(self) -> None:
        self.opened = threading.Semaphore(0)
        self.release = threading.Event()
        self.written: dict[str, bytes] = {}

    def opener(self, name: str):
        held = self

        class Sink:
            def __init__(self) -> None:
                self.data = b""
                held.opened.release()
                assert held.release.wait(WAIT)

            def write(self, data: bytes) -> None:
                self.data += data

            def commit(self) -> None:
                held.written[name] = self.data

            def abort(self) -> None:
                pass

        return Sink


def _submit_in_thread(writers, name: str, data: bytes, opener) -> threading.Thread:
    thread = threading.Thread(target=writers.submit, args=(name, [memoryview(data)], opener), daemon=True)
    thread.start()
    return thread


def test_members_wait_once_the_bound_is_reached_and_all_are_written(monkeypatch):
    monkeypatch.setattr(backuparchive, "_IN_FLIGHT", 1000)
    held = _Held()
    writers = backuparchive._Writers(lambda n: None)
    members = {f"documents/{i}": bytes([i]) * 300 for i in range(5)}
    names = list(members)
    for name in names[:3]:  # one per writer
        writers.submit(name, [memoryview(members[name])], held.opener(name))
    for _ in range(3):
        assert held.opened.acquire(timeout=WAIT)
    # 900 bytes in flight, every writer busy: a fourth member of 300 would pass the bound.
    fourth = _submit_in_thread(writers, names[3], members[names[3]], held.opener(names[3]))
    fourth.join(0.3)
    assert fourth.is_alive()
    assert writers.in_flight == 900
    held.release.set()
    fourth.join(WAIT)
    assert not fourth.is_alive()
    writers.submit(names[4], [memoryview(members[names[4]])], held.opener(names[4]))
    results = writers.close()
    assert held.written == members
    assert results == {n: (300, hashlib.sha256(d).hexdigest()) for n, d in members.items()}
    assert writers.in_flight == 0


def test_no_writer_idles_for_members_bigger_than_the_bound(monkeypatch):
    monkeypatch.setattr(backuparchive, "_IN_FLIGHT", 100)
    held = _Held()
    writers = backuparchive._Writers(lambda n: None)
    threads = [
        _submit_in_thread(writers, f"documents/{i}", bytes(1000), held.opener(f"documents/{i}"))
        for i in range(backuparchive._WRITERS)
    ]
    # Each member alone is ten times the bound: still, every writer gets one at once.
    for _ in range(backuparchive._WRITERS):
        assert held.opened.acquire(timeout=WAIT)
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()
    held.release.set()
    writers.close()
    assert len(held.written) == backuparchive._WRITERS


def test_a_failed_write_stops_the_waiting_reader(monkeypatch):
    monkeypatch.setattr(backuparchive, "_IN_FLIGHT", 100)
    release = threading.Event()

    class Failing:
        def __init__(self) -> None:
            assert release.wait(WAIT)

        def write(self, data: bytes) -> None:
            raise OSError(28, "No space left on device")

        def commit(self) -> None:
            pass

        def abort(self) -> None:
            pass

    writers = backuparchive._Writers(lambda n: None)
    for i in range(backuparchive._WRITERS):
        writers.submit(f"documents/{i}", [memoryview(bytes(100))], Failing)
    waiting = _submit_in_thread(writers, "documents/last", bytes(100), Failing)
    release.set()
    waiting.join(WAIT)
    assert not waiting.is_alive()
    with pytest.raises(OSError):
        writers.close()

"""Several threads and processes appending at once keep the chain whole and gapless."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection, connections

from hygie.audit import chain, journal
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.audit.verify import verify

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
THREADS, PER_THREAD = 6, 25
PROCESSES, PER_PROCESS = 3, 40

WRITER = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hygie.settings")
django.setup()
from hygie.audit import journal
from hygie.audit.events import Ev
for i in range(int(os.environ["EVENTS"])):
    journal.record(Ev.PATIENT_VIEWED, patient_id=i, details={"writer": os.getpid()})
"""


def _assert_whole(expected: int) -> None:
    chain.seal()  # on PostgreSQL, a seal may still be running in another writer's commit hook
    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, expected + 1))
    report = verify()
    assert report.ok, report.summary()
    assert report.events == expected


def _sqlite_in_memory() -> bool:
    name = str(connection.settings_dict["NAME"])
    return connection.vendor == "sqlite" and (":memory:" in name or "mode=memory" in name)


def test_it_keeps_the_chain_whole_with_concurrent_threads():
    if _sqlite_in_memory():
        pytest.skip("Base SQLite de test partagée en mémoire (verrous par table) : voir le test sur fichier.")
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                journal.record(Ev.PATIENT_VIEWED, patient_id=n * 1000 + i)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    _assert_whole(THREADS * PER_THREAD)


def test_it_keeps_the_chain_whole_with_concurrent_processes():
    name = str(connection.settings_dict["NAME"])
    if _sqlite_in_memory():
        pytest.skip("Base SQLite de test en mémoire, invisible depuis un autre processus : voir le test sur fichier.")
    env = {**os.environ, "EVENTS": str(PER_PROCESS), "PYTHONPATH": str(ROOT)}
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        env["HYGIE_DATABASE_URL"] = f"postgresql://{s['USER']}@{s['HOST']}:{s['PORT'] or 5432}/{name}"
    else:
        env["HYGIE_DATA_DIR"] = str(Path(name).parent)
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER], env=env, cwd=ROOT, stderr=subprocess.PIPE)
        for _ in range(PROCESSES)
    ]
    # The test process writes at the same time.
    for i in range(PER_PROCESS):
        journal.record(Ev.PATIENT_VIEWED, patient_id=i)
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()

    _assert_whole((PROCESSES + 1) * PER_PROCESS)


def test_it_keeps_the_chain_whole_on_a_sqlite_file_with_threads_and_processes(tmp_path):
    # The production SQLite setup (file, WAL, BEGIN IMMEDIATE), built by a separate script.
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("concurrent_writers.py")), str(tmp_path / "var"), "4", "3", "30"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "HYGIE_DATABASE_URL"},
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Journal intègre : 210 événements" in result.stdout


def test_it_verifies_a_large_journal_in_parallel_ranges(monkeypatch):
    if _sqlite_in_memory():
        pytest.skip("Base SQLite de test en mémoire, invisible depuis les processus de vérification.")
    from hygie.audit import verify as verify_module
    from tests.audit import helpers

    monkeypatch.setattr(verify_module, "PARALLEL_MIN_EVENTS", 10)
    helpers.journal_with_checkpoints(60, every=20)
    assert verify_module.verify(jobs=3).ok

    helpers.edit(47)  # in the third range
    report = verify_module.verify(jobs=3)

    assert (report.ok, report.position) == (False, 47)
    helpers.delete(20)  # a range boundary: falls back to one walk, which names it
    assert verify_module.verify(jobs=3).position == 20

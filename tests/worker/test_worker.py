"""The worker: each job once per period however many workers run, --once, the jobs' effects."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Alert, AlertKind, Checkpoint, Event
from hygie.cli import _route
from hygie.patients import actions as patient_actions
from hygie.worker import runner
from hygie.worker.models import Job
from hygie.worker.registry import JobSpec, jobs
from tests.factories import make_appointment

ROOT = Path(__file__).resolve().parents[2]


def _counting(name: str = "test-job", every: timedelta = timedelta(minutes=1)) -> tuple[JobSpec, list[int]]:
    calls: list[int] = []
    return JobSpec(name, lambda: calls.append(1) or "fait", every), calls


# --- The lease -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_lets_one_worker_only_claim_a_due_job():
    spec, _ = _counting()
    now = timezone.now()
    runner.ensure_rows([spec], now)

    assert runner.claim(spec, now, "worker-a") is True
    assert runner.claim(spec, now, "worker-b") is False


@pytest.mark.django_db
def test_it_runs_a_job_once_per_period_across_workers():
    spec, calls = _counting()
    now = timezone.now()

    runner.run_due(now, specs=[spec], owner="worker-a")
    runner.run_due(now, specs=[spec], owner="worker-b")
    runner.run_due(now + timedelta(seconds=59), specs=[spec], owner="worker-b")
    assert len(calls) == 1

    runner.run_due(now + timedelta(minutes=1), specs=[spec], owner="worker-b")
    assert len(calls) == 2
    job = Job.objects.get(name="test-job")
    assert job.last_status == "ok" and job.last_result == "fait" and job.locked_until is None


@pytest.mark.django_db
def test_it_takes_over_the_lease_of_a_worker_that_died():
    spec, calls = _counting()
    now = timezone.now()
    runner.ensure_rows([spec], now)
    assert runner.claim(spec, now, "worker-that-dies")  # …and never finishes

    runner.run_due(now + timedelta(minutes=5), specs=[spec], owner="worker-b")
    assert calls == []
    runner.run_due(now + spec.lease + timedelta(seconds=1), specs=[spec], owner="worker-b")
    assert calls == [1]


@pytest.mark.django_db
def test_it_records_a_failure_and_tries_again_soon():
    def broken() -> None:
        raise RuntimeError("boom")

    spec = JobSpec("broken", broken, timedelta(days=1))
    now = timezone.now()
    [result] = runner.run_due(now, specs=[spec], owner="w")

    assert not result.ok and result.error == "RuntimeError"
    job = Job.objects.get(name="broken")
    assert job.last_status == "error" and job.last_error == "RuntimeError"
    assert job.next_run_at - timezone.now() <= runner.RETRY_AFTER


@pytest.mark.django_db(transaction=True)
def test_it_runs_a_job_once_with_concurrent_workers():
    if connection.vendor == "sqlite":
        pytest.skip("Base SQLite de test en mémoire : voir le test sur fichier, avec des processus.")
    spec, calls = _counting()
    now = timezone.now()
    runner.ensure_rows([spec], now)
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            start.wait()
            runner.run_due(now, specs=[spec], owner=f"worker-{n}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert calls == [1]


@pytest.mark.django_db
def test_a_lock_backed_lease_is_taken_over_as_soon_as_its_holders_session_ends():
    """PostgreSQL: the lease of a worker whose database session is gone (process killed, machine
    stopped) is taken over at once, not at its expiry; while the session lives, never."""
    if connection.vendor != "postgresql":
        pytest.skip("verrous consultatifs : PostgreSQL seulement")
    spec, calls = _counting()
    now = timezone.now()
    runner.ensure_rows([spec], now)
    holder = runner.JobLocks()  # the other host's worker: its own session holds the job's lock
    assert holder.acquire(spec.name)
    owner = "autre-hote:0123456789ab:4242:1" + runner.LOCK_MARK
    try:
        assert runner.claim(spec, now, owner, locked=True)
        assert runner.run_due(now + timedelta(seconds=5), specs=[spec], owner="worker-b") == []
        assert calls == [] and Job.objects.get(name=spec.name).locked_by == owner
        assert not runner.owner_dead(owner)
    finally:
        holder.close()  # what PostgreSQL does when the holder's connection dies

    [result] = runner.run_due(now + timedelta(seconds=6), specs=[spec], owner="worker-b")
    assert result.ok and calls == [1]
    assert runner.owner_dead(owner)  # its backup runs, say, are closed as interrupted
    job = Job.objects.get(name=spec.name)
    assert job.locked_until is None and job.locked_by == "worker-b" + runner.LOCK_MARK
    runner.run_due(now + timedelta(seconds=7), specs=[spec], owner="worker-c")
    assert calls == [1]


@pytest.mark.django_db
def test_a_lease_without_the_lock_mark_waits_for_its_expiry_even_with_the_lock_free():
    """A lease written by a worker that takes no lock (an older version during an upgrade) is not
    taken for a dead one's: the free lock proves nothing about it."""
    if connection.vendor != "postgresql":
        pytest.skip("verrous consultatifs : PostgreSQL seulement")
    spec, calls = _counting()
    now = timezone.now()
    runner.ensure_rows([spec], now)
    assert runner.claim(spec, now, "ancien-hote:0123456789ab:4242:1")
    runner.run_due(now + timedelta(minutes=1), specs=[spec], owner="worker-b")
    assert calls == []
    runner.run_due(now + spec.lease + timedelta(seconds=1), specs=[spec], owner="worker-b")
    assert calls == [1]


HYGIE = [sys.executable, "-m", "hygie.cli"]


@pytest.fixture
def sqlite_file_env(tmp_path) -> dict:
    """A migrated SQLite file database that other processes can open (the test one is in memory)."""
    env = {k: v for k, v in os.environ.items() if k != "HYGIE_DATABASE_URL"}
    env.update(HYGIE_DATA_DIR=str(tmp_path / "var"),
               HYGIE_CHECKPOINT_FILE=str(tmp_path / "checkpoints.jsonl"), PYTHONPATH=str(ROOT))
    subprocess.run([*HYGIE, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=120)
    return env


def test_it_runs_each_job_once_with_concurrent_worker_processes_on_a_sqlite_file(sqlite_file_env, tmp_path):
    env, hygie = sqlite_file_env, HYGIE

    procs = [
        subprocess.Popen([*hygie, "worker", "--once"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs

    lines = [line for out, _ in outputs for line in out.splitlines() if " : ok" in line]
    ran = sorted(line.split(" : ")[0] for line in lines)
    assert ran == sorted(jobs()), outputs
    with sqlite3.connect(tmp_path / "var" / "hygie.sqlite3") as db:
        started = db.execute("SELECT count(*) FROM worker_job WHERE last_status = 'ok'").fetchone()[0]
    assert started == len(jobs())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_it_stops_cleanly_when_told_to(sqlite_file_env, sig):
    proc = subprocess.Popen([*HYGIE, "worker"], env=sqlite_file_env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert "Tâches de fond démarrées" in proc.stdout.readline()
        time.sleep(0.5)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Tâches de fond arrêtées." in out


# --- The command ---------------------------------------------------------------------------


def _once() -> str:
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    return out.getvalue()


def test_it_runs_the_due_jobs_once_and_then_nothing(personas):
    out = _once()
    for name in ("journal-seal", "journal-checkpoint", "journal-alerts", "journal-verify", "journal-prune",
                 "appointment-reasons-purge"):
        assert f"{name} : ok" in out
    assert "Aucune tâche due." in _once()


def test_it_exits_non_zero_when_a_job_fails(db, monkeypatch):
    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(jobs(), "broken", JobSpec("broken", broken, timedelta(days=1)))
    with pytest.raises(CommandError, match="broken"):
        _once()


def test_it_lists_the_jobs(db):
    _once()
    out = StringIO()
    call_command("worker", "--list", stdout=out)
    assert "journal-checkpoint (toutes les 5 min) — dernier passage" in out.getvalue()


def test_it_is_a_word_of_the_hygie_command():
    assert _route(["worker", "--once"]) == ["worker", "--once"]
    assert _route(["audit", "alerts"]) == ["audit", "alerts"]


# --- What the jobs do ----------------------------------------------------------------------


def test_it_seals_checkpoints_and_scans_the_journal(personas):
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    _once()

    # Sealed (on PostgreSQL the test's transaction never commits: only the job seals it).
    assert Event.objects.get(action=Ev.BREAK_GLASS).seq is not None
    assert Checkpoint.objects.exists()
    assert Alert.objects.filter(kind=AlertKind.BREAK_GLASS).exists()
    verified = Event.objects.filter(action=Ev.JOURNAL_VERIFIED)
    assert verified.exists() and all(e.details["ok"] for e in verified)
    assert set(verified.values_list("channel", flat=True)) == {"worker"}


def test_it_purges_the_reasons_of_past_appointments(personas):
    past = make_appointment(personas.alice_patient, personas.alice, start=timezone.now() - timedelta(days=2))
    _once()
    past.refresh_from_db()
    assert past.reason == ""


def test_it_prunes_the_journal_past_its_retention(personas, settings):
    from hygie.audit import checkpoint
    from tests.audit import helpers

    long_ago = timezone.now() - timedelta(days=settings.JOURNAL_RETENTION_DAYS + 10)
    helpers.record_many(5)
    with mock.patch("hygie.audit.checkpoint.timezone.now", return_value=long_ago):
        checkpoint.make_checkpoint(now=long_ago)
    _once()
    assert Event.objects.filter(action=Ev.JOURNAL_PRUNED).exists()


def test_it_refuses_to_prune_an_altered_journal(personas, settings):
    from tests.audit import helpers

    helpers.journal_with_checkpoints(6, every=3)
    helpers.delete(2)
    _once()
    assert not Event.objects.filter(action=Ev.JOURNAL_PRUNED).exists()
    assert Alert.objects.filter(kind=AlertKind.JOURNAL_ALTERED).exists()


# --- hygie serve -------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "started"), [((), True), (("--no-worker",), False)])
def test_serve_starts_the_worker_unless_told_not_to(db, args, started):
    # One process: the worker is a thread of the server. With several, it is a process of its
    # own (tests/core/test_serve_processes.py, a real server).
    # Background sealing and its SIGTERM handler left off: this is the test process.
    with mock.patch("waitress.serve") as serve, mock.patch("hygie.worker.runner.Worker") as worker_class, \
            mock.patch("hygie.core.startup.prepare_database"), mock.patch("hygie.audit.sealer.enable"), \
            mock.patch("hygie.audit.sealer.seal_on_sigterm"):
        call_command("serve", "--processes", "1", *args, stdout=StringIO(), stderr=StringIO())
    assert serve.called
    assert worker_class.return_value.start_thread.called is started
    assert worker_class.return_value.stop.called is started


def test_the_worker_loop_stops_when_asked(db):
    worker = runner.Worker(tick=0.01)
    with mock.patch.object(runner, "run_due", side_effect=lambda **kw: worker.stop()) as run_due:
        worker.run_forever()
    assert run_due.call_count == 1


def test_it_knows_a_dead_worker_of_this_host_and_nothing_of_other_hosts():
    from hygie.worker import runner

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    mine = runner.owner_id()
    host, boot, _pid, thread = mine.split(":")
    assert not runner.owner_dead(mine)  # this very process
    assert runner.owner_dead(f"{host}:{boot}:{proc.pid}:{thread}")  # exited (pid not reused meanwhile)
    assert not runner.owner_dead(f"autre-hote:{boot}:{proc.pid}:{thread}")  # another host: only the lease says
    assert not runner.owner_dead(f"{host}:avantreboot:{proc.pid}:{thread}")  # before a reboot: pids mean nothing
    assert not runner.owner_dead("")  # a row from an older version


def test_a_lease_held_by_a_dead_worker_of_this_host_is_taken_over(db):
    from hygie.worker import runner
    from hygie.worker.models import Job
    from hygie.worker.registry import JobSpec

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    host, boot, _pid, thread = runner.owner_id().split(":")
    now = timezone.now()
    spec = JobSpec("lent", lambda: "fait", timedelta(hours=1), lease=timedelta(hours=6))
    Job.objects.create(name="lent", next_run_at=now, locked_until=now + timedelta(hours=6),
                       locked_by=f"autre-hote:{boot}:{proc.pid}:{thread}")
    assert runner.run_due(now, specs=[spec]) == []  # held by a worker elsewhere: its lease rules
    Job.objects.filter(name="lent").update(locked_by=f"{host}:{boot}:{proc.pid}:{thread}")
    assert [r.result for r in runner.run_due(now, specs=[spec])] == ["fait"]


def test_the_jobs_modules_are_imported_when_the_jobs_are_asked_for_not_at_start_up():
    """A process that runs no job (a restore, a check) does not pay for what the jobs import."""
    import subprocess
    import sys

    code = (
        "import sys, django; django.setup(); "
        "print(sorted(m for m in sys.modules if m.startswith('hygie.') and m.endswith('.jobs'))); "
        "from hygie.worker.registry import jobs; n = len(jobs()); "
        "print(n, sorted(m for m in sys.modules if m.startswith('hygie.') and m.endswith('.jobs')) != [])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "[]"
    count, imported = out[1].split()
    assert int(count) >= 10 and imported == "True"

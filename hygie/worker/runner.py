"""Run due jobs, each once across every worker of the practice.

`claim` is one UPDATE … WHERE next_run_at <= now AND (locked_until IS NULL OR locked_until < now):
on PostgreSQL a second worker's UPDATE waits for the first to commit, then re-reads the row and
no longer matches; on SQLite writers take turns. Either way exactly one worker gets the row.
The UPDATE commits at once (no surrounding transaction), so the lease is visible to all before
the job starts.

A worker killed in the middle of a job keeps its lease until `locked_until`. On PostgreSQL the
lease is also backed by a session-level advisory lock per job (JobLocks), taken before the claim
and released after the job's row is written, on a connection of its own: when the worker's
process dies (kill -9, crash, machine stopped), PostgreSQL ends that session and frees the lock
(at once when the kernel closes the socket; within about a minute, through TCP keepalives, when
the machine itself is gone). A worker of any host that then gets the lock knows that nobody runs
the job any more and takes over a lease marked as lock-backed (LOCK_MARK) without waiting for its
expiry. A lease without the mark (a worker of an older version, SQLite) still waits for expiry.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections, connection, connections
from django.db.models import Q
from django.utils import timezone

from hygie.audit import context
from hygie.worker.models import Job
from hygie.worker.registry import JobSpec, jobs

logger = logging.getLogger(__name__)

# A failed job is tried again after this long (or its own interval, if shorter).
RETRY_AFTER = timedelta(minutes=5)
TICK_SECONDS = 5.0
# Appended to `locked_by` when the lease is backed by the job's advisory lock (PostgreSQL).
LOCK_MARK = "+pg"
# First key of the jobs' advisory locks ("HYJB"); the second is derived from the job's name.
JOB_LOCK_SPACE = int.from_bytes(b"HYJB", "big")
# Owners (owner_id) whose lease this process took over because their lock was gone: their
# process is dead wherever it ran (hygie.backups.jobs closes their runs as interrupted).
_vanished: set[str] = set()


@dataclass(frozen=True)
class RunResult:
    name: str
    ok: bool
    result: str = ""
    error: str = ""


def _boot_id() -> str:
    # Changes at every boot: a pid recorded before a reboot is never taken for a live process.
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip().replace("-", "")[:12]
    except OSError:
        return "-"


def owner_id() -> str:
    """host:boot:pid:thread. Host names must differ between the hosts of one practice."""
    return f"{socket.gethostname()}:{_boot_id()}:{os.getpid()}:{threading.get_ident()}"[:120]


def owner_dead(owner: str) -> bool:
    """Whether `owner` (an owner_id) was a process of this host, since this boot, that is gone
    (killed, crashed), or one whose job lock this process found free (another host's too). False
    whenever it cannot be known: another host, or a live pid (even a reused one): then only the
    lease's expiry frees what it held."""
    owner = owner.removesuffix(LOCK_MARK)
    if owner and owner in _vanished:
        return True
    parts = owner.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname() or parts[1] != _boot_id() or not parts[2].isdigit():
        return False
    pid = int(parts[2])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def _dead_owners(specs: list[JobSpec], now: datetime) -> list[str]:
    held = Job.objects.filter(name__in=[s.name for s in specs], locked_until__gte=now).values_list(
        "locked_by", flat=True
    )
    return [owner for owner in held if owner_dead(owner)]


def ensure_rows(specs: list[JobSpec], now: datetime) -> None:
    """A row per job, due at once the first time it is seen."""
    Job.objects.bulk_create([Job(name=s.name, next_run_at=now) for s in specs], ignore_conflicts=True)


def claim(spec: JobSpec, now: datetime, owner: str, dead: list[str] | None = None, *, locked: bool = False) -> bool:
    """Take the job's lease if it is due and free: never leased, expired, or held by a process of
    this host that died (`dead`, from owner_dead: a worker killed in the middle of a six-hour
    backup lease does not hold the job for six hours), or, when the caller holds the job's
    advisory lock (`locked`), a lock-backed lease: its holder's session is gone."""
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    if dead:
        free |= Q(locked_by__in=dead)
    if locked:
        free |= Q(locked_by__endswith=LOCK_MARK)
    taken = Job.objects.filter(free, name=spec.name, next_run_at__lte=now).update(
        locked_until=now + spec.lease, locked_by=owner, last_started_at=now
    )
    return taken == 1


def run_claimed(spec: JobSpec, started: datetime, owner: str) -> RunResult:
    # Events written by the job carry its own request id and the "worker" channel.
    token = context.set_context(context.RequestContext(request_id=uuid.uuid4().hex, ip=None, channel="worker"))
    try:
        value = spec.func()
        outcome = RunResult(spec.name, True, result="" if value is None else str(value)[:200])
    except Exception as exc:
        logger.exception("job %s failed", spec.name)
        outcome = RunResult(spec.name, False, error=type(exc).__name__[:120])
    finally:
        context.reset_context(token)
    finished = timezone.now()
    interval = spec.interval()
    next_run = started + interval if outcome.ok else finished + min(interval, RETRY_AFTER)
    Job.objects.filter(name=spec.name, locked_by=owner).update(
        locked_until=None,
        next_run_at=next_run,
        last_finished_at=finished,
        last_status="ok" if outcome.ok else "error",
        last_error=outcome.error,
        last_result=outcome.result,
    )
    return outcome


class JobLocks:
    """PostgreSQL session-level advisory locks, one per job, on a connection of their own (not
    Django's, which a job may close or which may be reopened between requests: the lock must live
    exactly as long as the job runs). One per run_due, opened only if a job is due, closed at
    its end."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.conn: Any = None

    @staticmethod
    def key(name: str) -> int:
        return zlib.crc32(name.encode()) - (1 << 31)  # a signed 32-bit integer

    def _connect(self) -> Any:
        if self.conn is not None and not self.conn.closed:
            return self.conn
        wrapper = connections[self.alias]
        conn = wrapper.get_new_connection(wrapper.get_connection_params())
        conn.autocommit = True
        with conn.cursor() as cursor:
            # A machine that disappears (no FIN, no RST) is noticed by PostgreSQL within about a
            # minute (30 s idle, then 3 probes 10 s apart), which frees its locks. Ignored on a
            # Unix socket, where the kernel closes the socket with the process anyway.
            cursor.execute("SET application_name = 'hygie-worker-locks'")
            for setting, value in (("tcp_keepalives_idle", 30), ("tcp_keepalives_interval", 10),
                                   ("tcp_keepalives_count", 3)):
                cursor.execute(f"SET {setting} = {value}")
        self.conn = conn
        return conn

    def acquire(self, name: str) -> bool:
        """Whether this process now holds the job's lock (False: a live worker holds it)."""
        for attempt in (1, 2):
            try:
                with self._connect().cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", (JOB_LOCK_SPACE, self.key(name)))
                    return bool(cursor.fetchone()[0])
            except Exception:
                self.close()  # the database restarted: a new session, once
                if attempt == 2:
                    raise
        return False  # pragma: no cover

    def release(self, name: str) -> None:
        try:
            with self._connect().cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", (JOB_LOCK_SPACE, self.key(name)))
        except Exception:
            self.close()  # the session is gone, and its locks with it
            logger.warning("worker: the job lock connection was lost")

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: S110 - closing a broken connection
                pass
        self.conn = None


def _claim_locked(spec: JobSpec, started: datetime, owner: str, dead: list[str], locks: JobLocks) -> RunResult | None:
    """Claim and run under the job's advisory lock; None when another live worker holds it or
    the job is not due."""
    if not locks.acquire(spec.name):
        return None
    try:
        held = owner[: 120 - len(LOCK_MARK)] + LOCK_MARK
        before = Job.objects.filter(name=spec.name).values_list("locked_by", "locked_until").first()
        if not claim(spec, started, held, dead, locked=True):
            return None
        if before and before[0].endswith(LOCK_MARK) and before[1] is not None and before[1] >= started:
            _vanished.add(before[0].removesuffix(LOCK_MARK))
            logger.warning("worker: job %s taken over from a worker whose database session ended", spec.name)
        return run_claimed(spec, started, held)
    finally:
        locks.release(spec.name)


def keys_locked() -> bool:
    """Passphrase mode, not unlocked yet (hygie.keys.service)."""
    from hygie.keys import service

    return service.is_locked()


def run_due(
    now: datetime | None = None,
    *,
    specs: list[JobSpec] | None = None,
    owner: str | None = None,
    stop: threading.Event | None = None,
) -> list[RunResult]:
    """Run every due job this worker manages to claim. Returns what ran."""
    specs = list(jobs().values()) if specs is None else specs
    owner = owner or owner_id()
    ensure_rows(specs, now or timezone.now())
    results = []
    locked = keys_locked()
    dead = _dead_owners(specs, now or timezone.now())
    if dead:
        logger.warning("worker: leases of %d dead process(es) of this host taken over", len(dead))
    locks = JobLocks() if connection.vendor == "postgresql" else None
    if locks is not None:
        # Only the due jobs are worth a lock (most ticks: none, and no extra connection).
        due = set(Job.objects.filter(name__in=[s.name for s in specs], next_run_at__lte=now or timezone.now())
                  .values_list("name", flat=True))
        specs = [spec for spec in specs if spec.name in due]
    try:
        for spec in specs:
            if stop is not None and stop.is_set():
                break
            if locked and spec.needs_keys:
                # Not claimed: it stays due and runs at the first tick after the unlock.
                continue
            started = now or timezone.now()
            if locks is not None:
                if (outcome := _claim_locked(spec, started, owner, dead, locks)) is not None:
                    results.append(outcome)
            elif claim(spec, started, owner, dead):
                results.append(run_claimed(spec, started, owner))
    finally:
        if locks is not None:
            locks.close()
    return results


def stop_on(worker: Worker, *signals: int) -> None:
    """Stop `worker` (after the job under way) when one of `signals` arrives.

    The handler hands the stop to a new thread rather than calling `worker.stop()` itself: a
    handler runs in the main thread between two of its instructions, possibly while that thread
    holds the lock of the worker's Event (inside `wait()`, or inside the `set()` of a previous
    signal's handler), and `set()` from the handler would then wait on that lock for ever. Seen:
    a jobs process of `hygie serve` stuck after two SIGTERMs (the supervisor's, then its own
    parent-death signal), holding the server's output open."""
    import signal

    def on_signal(signum: int, frame: Any) -> None:
        threading.Thread(target=worker.stop, name="hygie-worker-stop", daemon=True).start()

    for sig in signals:
        signal.signal(sig, on_signal)


class Worker:
    """The loop of `hygie worker` and of the thread `hygie serve` starts."""

    def __init__(self, tick: float = TICK_SECONDS) -> None:
        self.tick = tick
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_forever(self) -> None:
        try:
            while not self._stop.is_set():
                close_old_connections()  # a database restarted meanwhile: reconnect
                try:
                    run_due(stop=self._stop)
                except Exception:
                    # The database may be briefly unreachable: try again at the next tick.
                    logger.exception("worker tick failed")
                self._stop.wait(self.tick)
        finally:
            connections.close_all()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="hygie-worker", daemon=True)
        thread.start()
        return thread

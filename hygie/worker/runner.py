"""Run due jobs, each once across every worker of the practice.

`claim` is one UPDATE … WHERE next_run_at <= now AND (locked_until IS NULL OR locked_until < now):
on PostgreSQL a second worker's UPDATE waits for the first to commit, then re-reads the row and
no longer matches; on SQLite writers take turns. Either way exactly one worker gets the row.
The UPDATE commits at once (no surrounding transaction), so the lease is visible to all before
the job starts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import close_old_connections, connections
from django.db.models import Q
from django.utils import timezone

from hygie.audit import context
from hygie.worker.models import Job
from hygie.worker.registry import REGISTRY, JobSpec

logger = logging.getLogger(__name__)

# A failed job is tried again after this long (or its own interval, if shorter).
RETRY_AFTER = timedelta(minutes=5)
TICK_SECONDS = 5.0


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
    (killed, crashed). False whenever it cannot be known: another host, or a live pid (even a
    reused one): then only the lease's expiry frees what it held."""
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


def claim(spec: JobSpec, now: datetime, owner: str, dead: list[str] | None = None) -> bool:
    """Take the job's lease if it is due and free: never leased, expired, or held by a process of
    this host that died (`dead`, from owner_dead: a worker killed in the middle of a six-hour
    backup lease does not hold the job for six hours)."""
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    if dead:
        free |= Q(locked_by__in=dead)
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
    specs = list(REGISTRY.values()) if specs is None else specs
    owner = owner or owner_id()
    ensure_rows(specs, now or timezone.now())
    results = []
    locked = keys_locked()
    dead = _dead_owners(specs, now or timezone.now())
    if dead:
        logger.warning("worker: leases of %d dead process(es) of this host taken over", len(dead))
    for spec in specs:
        if stop is not None and stop.is_set():
            break
        if locked and spec.needs_keys:
            # Not claimed: it stays due and runs at the first tick after the unlock.
            continue
        started = now or timezone.now()
        if claim(spec, started, owner, dead):
            results.append(run_claimed(spec, started, owner))
    return results


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

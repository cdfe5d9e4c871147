"""PostgreSQL, in `hygie serve`: seal committed events in a thread of the server process rather
than at the end of the request that wrote them.

Why. On PostgreSQL an event is inserted pending in the writer's transaction and sealed right after
its commit (hygie.audit.chain). Done by the request itself, that sealing adds to the page's
response time a few round trips and one disk flush, and, under load, the request that happens to
hold the chain head seals for everyone who committed meanwhile (up to 20 rounds, a flush each):
its user waits for the others' journal. Here the request only wakes this process's sealer thread
(after its commit, as before) and answers. The thread waits a moment for the commits that
follow (COALESCE_SECONDS), then seals every pending event, one batch and one flush for all the
writers of the moment, with the lock and statements of `chain.seal(wait=False)` in the request,
one round at a time (`chain.seal_round`).

One sealer per database. Of the server processes (and servers) writing to one database, only one
seals: the first whose thread takes a session advisory lock (SEALER_LOCK), held by the thread's
connection while it lives. That thread then looks for pending events every COALESCE_SECONDS,
woken or not (one indexed lookup when there are none), and seals everyone's events in one batch;
the threads of the other processes, woken by their own commits, only try for the role now and
then (CLAIM_SECONDS) and otherwise do nothing: their requests do no sealing at all, and the
database sees one sealing round per interval instead of one per process. Why not NOTIFY from the
writer's transaction to wake the sealer: PostgreSQL serialises the commits of transactions that
notify (a lock on the notification queue held through the commit), which would undo the shared
disk flushes that pending events exist for. If the sealer's process dies, its session ends, the
lock is freed, and the next process woken by a commit takes the role (or the checkpoint job seals).

What does not change. The event itself is committed with the action, in the same transaction,
before the response: an acknowledged action always has its event. Only its position and chain
value come a few milliseconds later, as they already did after the commit. If the process dies
before sealing, the events stay pending and the next sealer (another request, another server,
the checkpoint job) seals them, in id order; `hygie audit verify` reports pending events as such.

Where. Only in server processes, once `enable()` is called (hygie serve, after the fork: each
process starts its own thread the first time it is needed). Stopped normally (SIGTERM, Ctrl+C,
exit), a process seals what it committed before it ends. Commands, the worker, the tests and
SQLite (where the event is sealed inside the writer's transaction) keep sealing inline.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

# A failed round (database unreachable for a moment) is retried after this many seconds.
RETRY_SECONDS = 1.0
# The database's sealer makes a round every this many seconds, woken or not (a thread that is not
# the sealer, once woken, waits as long before trying for the role): the commits of that time
# join one round, one lock attempt, one batch and one disk flush for all of them, instead of
# about a round per commit; one round at a time (chain.seal_round). Under load those rounds were
# most of the sealing's cost (bench/bench_journal.py, 8 processes on 2 cores, processor time per
# event: ~1,000 µs sealing after each commit, ~700 µs so, ~500 µs for a plain INSERT; a 20 ms
# wait gave ~800 µs). Only the event's position comes
# that much later, never its commit. `stop` cuts the wait short.
COALESCE_SECONDS = 0.1

# Key of the PostgreSQL session advisory lock held by the database's sealer ("Hygis" in ASCII;
# the chain head's own lock, hygie.audit.chain, is "Hygie").
SEALER_LOCK = 0x4879676973
# A process that is not its database's sealer tries for the role at most this often.
CLAIM_SECONDS = 1.0

_enabled = False
_lock = threading.Lock()
_wake = threading.Event()
_halt = threading.Event()
_owner_pid: int | None = None
_thread: threading.Thread | None = None
_stopping = False
_aliases: set[str] = set()


def enable() -> None:
    """From now on, in this process and the processes it forks, `nudge` seals in the background."""
    global _enabled
    _enabled = True


def enabled() -> bool:
    return _enabled


def nudge(using: str = DEFAULT_DB_ALIAS) -> None:
    """After a commit that wrote events: have them sealed. Inline when background sealing is off."""
    from hygie.audit import chain

    if not _enabled:
        chain.seal(using, wait=False)
        return
    if _owner_pid == os.getpid() and using in _aliases:
        # The usual case, after every commit: this process's thread runs and knows the alias.
        # Reads without the lock are safe: `stop` clears _owner_pid before ending the thread, and a
        # stale read at worst takes the path below. Setting an event already set is skipped.
        if not _wake.is_set():
            _wake.set()
        return
    with _lock:
        _aliases.add(using)
        _ensure_thread()
    _wake.set()


def _ensure_thread() -> None:
    """One sealer thread per process (a forked child does not inherit its parent's thread)."""
    global _owner_pid, _wake, _halt, _thread
    pid = os.getpid()
    if _owner_pid == pid:
        return
    _owner_pid = pid
    _wake, _halt = threading.Event(), threading.Event()
    _thread = threading.Thread(target=_run, args=(_wake, _halt), name="hygie-sealer", daemon=True)
    _thread.start()
    atexit.register(stop)


def seal_on_sigterm() -> None:
    """A server process stopped by SIGTERM (the supervisor, systemd) first seals what it
    committed, then dies of the signal as it would have (in-flight requests are cut and roll
    back, as before; the supervisor sees the same end)."""

    def on_term(signum: int, frame: Any) -> None:
        # A second SIGTERM (the supervisor sends one, then its death sends another) must not run
        # this again inside the first: stop() takes a lock the first run may hold.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            stop(timeout=5.0)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)


def stop(timeout: float = 10.0) -> None:
    """Seal what is pending, close the thread's connections and end it (process exit; tests).
    The next `nudge` starts a new thread."""
    global _owner_pid, _thread, _stopping
    with _lock:
        thread = _thread if _owner_pid == os.getpid() else None
        _owner_pid, _thread = None, None
        _stopping = True
        _halt.set()
        _wake.set()
    if thread is not None:
        thread.join(timeout)
    _stopping = False


def _run(wake: threading.Event, halt: threading.Event) -> None:
    from hygie.audit import chain

    # PostgreSQL: the aliases for which this thread is the database's sealer, each with the
    # driver connection whose session holds the role (lost with that session), and when the role
    # was last tried for.
    role: dict[str, Any] = {}
    tried: dict[str, float] = {}
    while True:
        if not role:
            wake.wait()  # no database to poll: a commit of this process wakes the thread
        halt.wait(COALESCE_SECONDS)
        # Cleared before sealing: an event committed while this round runs wakes the next one.
        wake.clear()
        stopping = _stopping
        with _lock:
            aliases = sorted(_aliases)
        for using in aliases:
            conn = connections[using]
            try:
                if stopping:
                    chain.seal(using, wait=False)
                elif conn.vendor != "postgresql":
                    chain.seal_round(using)
                elif _sealer_of(conn, role, tried):
                    # Every round, woken or not: the commits of the other processes wake no one
                    # here. One statement when nothing is pending (an idle server).
                    if chain.pending(using):
                        chain.seal_round(using)
                # Otherwise another process seals this database: nothing to do.
            except Exception as exc:  # noqa: BLE001 - the thread must live on; the events stay pending
                # The class only: a database message could quote a value.
                logger.warning("Chaînage du journal reporté (%s) ; nouvel essai.", type(exc).__name__)
                role.pop(using, None)  # released with the session, closed below
                tried.pop(using, None)  # tried for again at once after the retry wait
                conn.close()
                if not stopping:
                    threading.Event().wait(RETRY_SECONDS)
                    wake.set()
            else:
                if stopping:
                    conn.close()
                else:
                    conn.close_if_unusable_or_obsolete()
        if stopping:
            return


def _sealer_of(conn: Any, role: dict[str, Any], tried: dict[str, float]) -> bool:
    """Whether this thread is the sealer of `conn`'s database, taking the role when it is free:
    a session advisory lock (SEALER_LOCK) held by the thread's connection for as long as it
    lives. Tried for at most every CLAIM_SECONDS: a process that is not the sealer costs its
    database one statement a second at most; when the sealer's process dies, its session ends,
    the lock is freed and the next process woken by a commit takes the role within that time."""
    using = conn.alias
    held = role.get(using)
    if held is not None:
        if conn.connection is held:
            return True
        del role[using]  # the connection was closed (its age, an error): the role went with it
    now = time.monotonic()
    if now - tried.get(using, -CLAIM_SECONDS) < CLAIM_SECONDS:
        return False
    tried[using] = now
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SEALER_LOCK])
        if not cursor.fetchone()[0]:
            return False
    role[using] = conn.connection
    return True

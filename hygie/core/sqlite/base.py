"""Django's SQLite backend, with the writers of one process queued instead of polling, and
read transactions for the pages that only read (hygie.core.sqlite.requests).

A writing transaction starts with BEGIN IMMEDIATE (settings: the write lock is taken at once,
never upgraded from a read, which under WAL fails at once with "database is locked" when another
writer holds the lock or committed since the read began). While the lock is held, SQLite's busy
handler makes each other writer sleep and retry, its sleeps growing to 100 ms: a writer that
arrived early and sleeps long loses the lock, again and again, to those that arrived after it and
retry sooner. Under a burst one request could so wait past the busy timeout and answer 500 (seen
with 2 processes × 8 threads and 16 clients on a loaded machine). Here the threads of one process
wait their turn on a lock of the process, in order of arrival as the system wakes them, and only
one of them at a time polls SQLite: a handful of processes poll, not every thread of each. The
wait stays bounded by the same timeout.

A GET view runs instead in a DEFERRED transaction (`reading`): a snapshot, no write lock, so the
views of several processes run at once. Its journal events are held in `ReadState.pending` (kept
or dropped with the savepoints they were recorded in) and written after the snapshot ends, in a
short IMMEDIATE transaction. Should such a view write anyway, its first writing statement upgrades
the transaction (taking the process's lock without waiting, then SQLite's write lock) and the
held events are written in it before its commit; if either lock is
taken or the snapshot is stale, `ReadState.failed` is set and `UpgradeFailed` raised: the caller
runs the view again in IMMEDIATE mode (hygie.core.sqlite.requests).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_WRITER = threading.Lock()

# Statements that never take SQLite's write lock inside a transaction. Anything else (INSERT,
# UPDATE, DELETE, REPLACE, DDL, PRAGMA, WITH…) is taken for a write: default deny.
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK TO", "EXPLAIN")
_SQLITE_BUSY = 5  # with its extended codes: BUSY_RECOVERY, BUSY_SNAPSHOT (517), BUSY_TIMEOUT


class UpgradeFailed(sqlite3.OperationalError):
    """A read transaction could not become a writing one (another writer holds the lock or
    committed since its snapshot). Django reports it as an OperationalError; callers look at
    `ReadState.failed`, which is set whatever the view did with the exception."""


@dataclass
class Pending:
    at: Any
    prepared: Any
    savepoints: frozenset[str]


@dataclass
class ReadState:
    begun: bool = False  # the DEFERRED transaction was started
    active: bool = False  # … and has not ended yet
    upgraded: bool = False  # a statement wrote: the transaction holds the write lock
    failed: bool = False  # the upgrade was refused
    pending: list[Pending] = field(default_factory=list)


def is_write(query: str) -> bool:
    return not query.lstrip().upper().startswith(_READS)


class ReadAwareCursor(base.SQLiteCursorWrapper):
    db: DatabaseWrapper

    def execute(self, query: str, params: Any = None) -> Any:
        reads = self.db.reads
        if reads is not None and reads.active and not reads.upgraded and is_write(query):
            return self.db.upgrade(reads, lambda: super(ReadAwareCursor, self).execute(query, params))
        return super().execute(query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        reads = self.db.reads
        if reads is not None and reads.active and not reads.upgraded and is_write(query):
            return self.db.upgrade(reads, lambda: super(ReadAwareCursor, self).executemany(query, param_list))
        return super().executemany(query, param_list)


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer = False
    # Set by `reading()` for the request's transaction (one connection per thread).
    reads: ReadState | None = None

    @contextlib.contextmanager
    def reading(self) -> Iterator[ReadState]:
        """The next transaction begins DEFERRED and is tracked in the ReadState yielded."""
        if self.reads is not None or self.in_atomic_block:
            raise RuntimeError("reading() ne s'emboîte pas dans une transaction.")
        state = self.reads = ReadState()
        try:
            yield state
        finally:
            self.reads = None

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=ReadAwareCursor)
        cursor.db = self
        return cursor

    def _start_transaction_under_autocommit(self) -> None:
        reads = self.reads
        if reads is not None and not reads.begun:
            self.cursor().execute("BEGIN DEFERRED")
            reads.begun = reads.active = True
            return
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        deadline = time.monotonic() + timeout
        if not _WRITER.acquire(timeout=timeout):
            raise OperationalError("database is locked")
        self._holds_writer = True
        try:
            if self.transaction_mode == "IMMEDIATE":
                self._begin_immediate(deadline, timeout)
            else:
                super()._start_transaction_under_autocommit()  # type: ignore[misc]  # not in the stubs
        except BaseException:
            self._release_writer()
            raise

    def _begin_immediate(self, deadline: float, timeout: float) -> None:
        """BEGIN IMMEDIATE, retried every 0.1 to 2 ms while another process holds the write lock.

        SQLite's own busy handler sleeps 1, 2, 5, 10… then 100 ms between its tries: with two
        server processes, the waiting one often slept on while the lock was free (measured at
        saturation: a fifth of both cores idle, pages/s no higher with a third less processor
        time per page). Only one thread per process polls (the process's lock above), so these
        short sleeps cost little. The wait stays bounded by the same timeout."""
        raw = self.connection
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            delay = 0.0001
            while not self._try_begin_immediate(deadline):
                time.sleep(delay)
                delay = min(delay * 2, 0.002)
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    def _try_begin_immediate(self, deadline: float) -> bool:
        """One BEGIN IMMEDIATE: True once it is begun, False while another process holds the
        write lock and the deadline is not reached; any other error, or the deadline, raises
        Django's error. When nothing observes the statements (no query log, no execute_wrapper,
        as in hygie.audit.chain.append) the driver runs it directly: a refused try then costs
        ~2 µs of processor instead of ~27 µs through Django's cursor and its translated
        exception, and an accepted one ~5 µs less. Under write contention a transaction is
        refused 0.3 to 1.2 times on average (bench/bench_journal.py, 8 writers)."""
        if self.queries_logged or self.execute_wrappers:
            try:
                self.cursor().execute("BEGIN IMMEDIATE")
                return True
            except OperationalError as exc:
                code = getattr(exc.__cause__, "sqlite_errorcode", 0)
                if code & 0xFF != _SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
                return False
        try:
            self.connection.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.Error as exc:
            if (isinstance(exc, sqlite3.OperationalError) and exc.sqlite_errorcode & 0xFF == _SQLITE_BUSY
                    and time.monotonic() < deadline):
                return False
            with self.wrap_database_errors:  # Django's exception, the driver's as its cause
                raise

    def upgrade(self, reads: ReadState, statement: Any) -> Any:
        """Run the first writing statement of a read transaction, which makes it a writing one."""
        if reads.failed or not _WRITER.acquire(blocking=False):
            reads.failed = True
            raise UpgradeFailed("database is locked (read transaction)")
        self._holds_writer = True
        try:
            result = statement()
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF == _SQLITE_BUSY:
                reads.failed = True
                raise UpgradeFailed(str(exc)) from exc
            raise
        # The lock is released with the transaction (_commit / _rollback / _close).
        reads.upgraded = True
        return result

    def defer_event(self, at: Any, prepared: Any) -> bool:
        """Hold a journal event of a read transaction until the view returns (see `reading`);
        even once it writes, so that the view's events keep their order. False when the event
        is to be written at once (no read transaction)."""
        reads = self.reads
        if reads is None or not reads.active:
            return False
        reads.pending.append(Pending(at, prepared, frozenset(s for s in self.savepoint_ids if s)))
        return True

    def savepoint_rollback(self, sid: str) -> None:
        super().savepoint_rollback(sid)
        if self.reads is not None:
            self.reads.pending = [p for p in self.reads.pending if sid not in p.savepoints]

    def _release_writer(self) -> None:
        if self._holds_writer:
            self._holds_writer = False
            _WRITER.release()

    def _end_reads(self, *, committed: bool) -> None:
        reads = self.reads
        if reads is not None and reads.active and (self.connection is None or not self.connection.in_transaction):
            reads.active = False
            if not committed:
                reads.pending.clear()

    def _commit(self) -> Any:
        try:
            result = super()._commit()  # type: ignore[misc]
        finally:
            if self.connection is None or not self.connection.in_transaction:
                self._release_writer()
        self._end_reads(committed=True)
        return result

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            if self.connection is None or not self.connection.in_transaction:
                self._release_writer()
            self._end_reads(committed=False)

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._release_writer()
            if self.reads is not None:
                self.reads.active = False
                self.reads.pending.clear()

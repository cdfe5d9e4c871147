"""Django's PostgreSQL backend, with pages that only read served without a transaction, and a
health check that costs no round trip (issue 14).

Page views. Every request runs in one transaction (ATOMIC_REQUESTS). For a view that only reads,
that transaction adds two round trips to the server (BEGIN, COMMIT) and buys nothing: at READ
COMMITTED, PostgreSQL's default, each statement takes its own snapshot inside a transaction as
outside one. So a view answering a safe method (GET, HEAD, OPTIONS) runs in autocommit instead
(`reading`, driven by hygie.core.readviews), and the journal events it records wait in memory
(`defer_event`); once the view has returned, they are written, before its response leaves: a page
is never shown without its event (hygie.core.postgresql.requests).

Default deny: in that mode every statement is looked at before it is sent. Anything but a plain
SELECT (an INSERT, UPDATE, DELETE, a locking read FOR UPDATE/SHARE, an advisory lock, a sequence,
a WITH that may write, SET, DDL…) is refused before it reaches the server, `ReadState.failed` is
set, and the view is run again from the start inside the request's transaction, as every request
was before. Nothing was written by the first run, whatever the view did with the refusal.

Health check. With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of each
request on a persistent connection. Here the check looks at the connection instead: closed or
broken, a transaction left open, or anything waiting to be read on its socket while it is idle
(a server that restarts or ends the session sends a FATAL message and closes; a client that sent
nothing receives nothing else) all mean "unusable", and Django opens a new connection. A server
that vanished without a word is found by the first real query, as it was by `SELECT 1`.
"""

from __future__ import annotations

import contextlib
import re
import select
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError
from django.db.backends import utils
from django.db.backends.postgresql import base
from psycopg import pq

# A statement that may be sent from a read view: a plain SELECT, nothing that locks, writes or
# changes the session. Everything else makes the view run again in a transaction.
_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_NOT_READ = re.compile(
    r"\bFOR\s+(?:UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b|\bpg_advisory|\bpg_try_advisory|\bnextval\s*\("
    r"|\bsetval\s*\(|\bset_config\s*\(|\bpg_notify\s*\(|\blo_\w+\s*\(",
    re.IGNORECASE,
)


def is_read(query: str) -> bool:
    return bool(_READ.match(query)) and not _NOT_READ.search(query)


class ReadViewWrote(DatabaseError):
    """A read view sent a statement that may write: not sent; the view is run again in a
    transaction (callers look at `ReadState.failed`, set whatever the view did with this)."""


@dataclass
class Pending:
    at: Any
    prepared: Any


@dataclass
class ReadState:
    active: bool = True  # the view is running
    failed: bool = False  # it tried to write
    pending: list[Pending] = field(default_factory=list)


def _guard(db: DatabaseWrapper, query: Any) -> None:
    reads = db.reads
    if reads is not None and reads.active and not is_read(str(query)):
        reads.failed = True
        raise ReadViewWrote("écriture refusée pendant une page en lecture seule")


class _Guarded:
    """Checks each statement of a read view before Django's cursor wrapper sends it."""

    db: DatabaseWrapper

    def execute(self, sql: Any, params: Any = None) -> Any:
        _guard(self.db, sql)
        return super().execute(sql, params)  # type: ignore[misc]

    def executemany(self, sql: Any, param_list: Any) -> Any:
        _guard(self.db, sql)
        return super().executemany(sql, param_list)  # type: ignore[misc]

    def callproc(self, procname: str, params: Any = None, kparams: Any = None) -> Any:
        _guard(self.db, "CALL")
        return super().callproc(procname, params, kparams)  # type: ignore[misc]


class ReadAwareCursorWrapper(_Guarded, utils.CursorWrapper):
    pass


class ReadAwareCursorDebugWrapper(_Guarded, utils.CursorDebugWrapper):
    pass


class DatabaseWrapper(base.DatabaseWrapper):
    # Set by `reading()` while a read view runs (one connection per thread).
    reads: ReadState | None = None

    @contextlib.contextmanager
    def reading(self) -> Iterator[ReadState]:
        """Until the block ends, statements are checked and journal events held (see above)."""
        if self.reads is not None or self.in_atomic_block or not self.get_autocommit():
            raise RuntimeError("reading() ne s'emboîte pas dans une transaction.")
        state = self.reads = ReadState()
        try:
            yield state
        finally:
            state.active = False
            self.reads = None

    def make_cursor(self, cursor: Any) -> Any:
        return ReadAwareCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor: Any) -> Any:
        return ReadAwareCursorDebugWrapper(cursor, self)

    def defer_event(self, at: Any, prepared: Any) -> bool:
        """Hold a journal event of a read view until it returns. False (write it now) outside a
        read view, or inside an atomic block of one: the INSERT then makes the view run again in
        a transaction, so that the block's events and writes commit together."""
        reads = self.reads
        if reads is None or not reads.active or reads.failed or self.in_atomic_block:
            return False
        reads.pending.append(Pending(at, prepared))
        return True

    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        if conn.info.transaction_status != pq.TransactionStatus.IDLE:
            return False
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable
